# nsfleet: make demo | make test | make bench
# Everything installs itself: Debian packages (as root), a virtualenv in .venv,
# and the collection into .build/collections. Nothing is installed by hand.

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
COLLECTIONS := $(CURDIR)/.build/collections
COLLECTION_DIR := $(COLLECTIONS)/ansible_collections/nsfleet/pidns
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_NOCOLOR := 1

TEST_PACKAGES := openssh-server openssh-client openssl busybox-static util-linux procps prometheus systemd runc
BENCH_PACKAGES := runc busybox-static util-linux prometheus-process-exporter

.PHONY: all demo test bench system-packages bench-packages venv bundle collection \
        test-unit test-functional test-e2e test-sanity test-lint clean demo-clean

all: collection

system-packages:
	@tools/require-root "installing Debian packages"
	@tools/install-debian-packages $(TEST_PACKAGES)

bench-packages:
	@tools/require-root "installing Debian packages"
	@tools/install-debian-packages $(BENCH_PACKAGES)

venv: $(VENV)/.installed

# The agent is installed as a copy: reinstalled whenever one of its files changes.
$(VENV)/.installed: tests/requirements.txt agent/pyproject.toml $(shell find agent/src -name '*.py')
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	$(VPY) -m pip install --quiet --disable-pip-version-check ./agent
	touch $@

# The executor as the single file the modules install on hosts.
bundle:
	$(PYTHON) plugins/module_utils/_executor_bundle.py build/nsfleet

collection: venv
	rm -rf .build/dist && mkdir -p .build/dist
	$(VENV)/bin/ansible-galaxy collection build --force --output-path .build/dist . >/dev/null
	$(VENV)/bin/ansible-galaxy collection install --force -p $(COLLECTIONS) .build/dist/nsfleet-pidns-*.tar.gz >/dev/null
	@echo "collection installed in $(COLLECTION_DIR)"

# Targets run modules with the host's own Python, as a remote host would.
TARGET_PYTHON ?= /usr/bin/python3
DEMO := $(VENV)/bin/ansible-playbook -i localhost, -c local -e ansible_python_interpreter=$(TARGET_PYTHON) playbooks/demo.yml

demo:
	@tools/require-root "make demo creates namespaces"
	@$(MAKE) --no-print-directory venv collection
	$(DEMO)

demo-clean: venv
	@tools/require-root "make demo-clean removes namespaced workloads"
	$(DEMO) -e demo_state=absent

test: system-packages venv bundle collection test-unit test-functional test-e2e test-sanity test-lint

test-unit: venv
	$(VPY) -m pytest -q tests/unit

test-functional: venv bundle
	@tools/require-root "the functional tests create namespaces"
	$(VPY) -m pytest -q tests/functional

test-e2e: venv collection
	@tools/require-root "the end-to-end tests start sshd"
	$(VPY) -m pytest -q tests/e2e

test-sanity: venv
	tools/ansible-sanity $(VENV)

test-lint: venv collection
	$(VENV)/bin/ansible-lint --offline playbooks $(wildcard roles)

bench: venv bundle collection bench-packages
	$(VPY) tools/bench.py

clean:
	rm -rf .build build $(VENV) tests/output
