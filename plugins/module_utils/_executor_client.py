# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How modules reach the executor: install the bundle on the host, run its CLI.

Each method is one executor start: a module run on the no-change path
starts it once (``inspect NAME --spec -`` reads the workload and validates
the asked spec together). Private to the collection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

from ansible_collections.nsfleet.pidns.plugins.module_utils import _executor_bundle as bundle
from ansible_collections.nsfleet.pidns.plugins.module_utils import executor as executor_package
# The CLI's entry point, imported so that Ansible ships it and, through its
# imports, every executor module it can reach (the bundle takes the tree as
# shipped); its exit codes are the ones this client interprets.
from ansible_collections.nsfleet.pidns.plugins.module_utils.executor.cli import main as executor_cli

EXECUTOR_RELATIVE_PATH = os.path.join("var", "lib", "nsfleet", "bin", "nsfleet")


class ExecutorError(Exception):
    """The executor refused or failed; ``bad_input`` when the user can fix the parameters."""

    def __init__(self, message, bad_input=False):
        Exception.__init__(self, message)
        self.bad_input = bad_input


class NoSuchWorkload(ExecutorError):
    """The executor has no workload of that name (its exit code 3)."""


def _error(args, rc, stderr):
    """The exception for a failed executor start, its message the executor's own."""
    message = stderr.strip()
    if message.startswith("nsfleet: "):
        message = message[len("nsfleet: "):]
    message = message or "nsfleet %s exited with %d" % (args[0], rc)
    if rc == executor_cli.EXIT_NO_SUCH_WORKLOAD:
        return NoSuchWorkload(message)
    return ExecutorError(message, rc == executor_cli.EXIT_BAD_INPUT)


class ExecutorClient:
    def __init__(self, module, state_dir, may_install=True):
        self.module = module
        self.may_install = may_install and not module.check_mode
        self.state_dir = state_dir
        self.installed_path = os.path.join(state_dir, EXECUTOR_RELATIVE_PATH)
        self.path = None
        self.installed = False

    def ensure(self):
        """Install the bundle if its content changed; where we may not, run a private copy instead."""
        if self.path is not None:
            return self.path
        data = bundle.build(bundle.package_sources(executor_package), sys.executable)
        if bundle.file_digest(self.installed_path) == bundle.digest(data):
            self.path = self.installed_path
        elif not self.may_install:
            # Check mode and info modules change nothing on the host: run from Ansible's temp dir.
            self.path = os.path.join(self.module.tmpdir, "nsfleet")
            bundle.install(data, self.path)
        else:
            self.installed = bundle.install(data, self.installed_path)
            self.path = self.installed_path
        return self.path

    def run(self, args, spec_document=None, stdin_text=None):
        """Run ``nsfleet ARGS`` (one executor start); returns (rc, stdout, stderr).

        Its stdin: ``spec_document`` as JSON, or ``stdin_text`` as it is.
        """
        argv = [sys.executable, "-IS", self.ensure(), "--state-dir", self.state_dir] + list(args)
        data = stdin_text if spec_document is None else json.dumps(spec_document)
        return self.module.run_command(argv, data=data, binary_data=True)

    def call(self, args, spec_document=None, stdin_text=None):
        """Run ``nsfleet ARGS`` (one executor start); returns its JSON output."""
        rc, stdout, stderr = self.run(args, spec_document, stdin_text)
        if rc != 0:
            raise _error(args, rc, stderr)
        return json.loads(stdout) if stdout.strip() else None

    def inspect(self, name):
        """The workload object, or None when there is no such workload."""
        try:
            return self.call(["inspect", name])
        except NoSuchWorkload:
            return None

    def inspect_with_spec(self, name, spec_document):
        """{"workload": object or None, "spec": normalised, "spec_hash": ...}; bad specs raise ExecutorError."""
        return self.call(["inspect", name, "--spec", "-"], spec_document)

    def apply(self, entries, prune=False, selector=None, check=False):
        """A whole list of workloads in one executor start: {"changed", "failed": [names], "results": [...]}.

        A workload that failed is in the results (exit code 1 with the document); bad input raises ExecutorError.
        """
        args = ["apply", "--specs", "-"] + (["--prune"] if prune else []) + (["--check"] if check else [])
        for key, value in sorted((selector or {}).items()) if prune else ():
            # Non-strings as their JSON text, as the executor stores label values (true, 1).
            args += ["--selector", "%s=%s" % (key, value if isinstance(value, str) else json.dumps(value))]
        rc, stdout, stderr = self.run(args, entries)
        if rc not in (0, executor_cli.EXIT_FAILED) or not stdout.strip().startswith("{"):
            raise _error(args, rc, stderr)
        return json.loads(stdout)

    def list(self):
        """Every workload object, with processes."""
        return self.call(["inspect", "--all"])
