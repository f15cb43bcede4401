"""The fleet end to end: three test hosts, provision.yml, a real Prometheus, the runbooks, teardown.yml.

Each host is an sshd in its own PID and mount namespace on 127.0.0.11-13
(fleet_hosts.py). The agents serve TLS with basic auth; host1 installs its
agent from the machine's package index, the others offline from a wheel
directory the test builds. Each host's workloads go under a cgroup parent of
its own (the hosts share this machine's cgroup hierarchies). The tests run in
file order on one fleet: the last one tears it down.
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest
from dashboard_queries import families, instant_query, label_values, load, queries, wait_for_dashboard
from fleet_hosts import FleetHost, free_port_on
from prometheus_server import Prometheus
from support import TOP

VENV_BIN = os.path.join(TOP, ".venv", "bin")
COLLECTIONS = os.path.join(TOP, ".build", "collections")
COLLECTION = os.path.join(COLLECTIONS, "ansible_collections", "nsfleet", "pidns")
PLAYBOOKS = os.path.join(COLLECTION, "playbooks")
DASHBOARD = os.path.join(TOP, "monitoring", "grafana", "nsfleet.json")
ADDRESSES = {"host1": "127.0.0.11", "host2": "127.0.0.12", "host3": "127.0.0.13"}
PASSWORD = "fleet-test-password"
# fleet-web: a process with a child, in its own PID namespace, on every host, with limits (so the limit
# panels have data). The hosts share this machine's cgroup hierarchies: each host's workloads go under a
# cgroup parent of its own (fleet_cgroup_parent).
WORKLOADS = [{"name": "fleet-web", "command": ["/bin/sh", "-c", "sleep 3600 & wait"], "restart_policy": "on-failure",
              "limits": {"memory": "128m", "pids": 64}, "cgroup_parent": "{{ fleet_cgroup_parent }}"}]
# A test host is an sshd in a PID namespace of its own, and the kernel's process connector answers only
# processes of the initial one: these agents say so (nsfleet_proc_connector_up 0) and poll, so the event
# families stay empty here. tests/functional/agent/test_agent_dashboard.py checks their panels on the host.
CONNECTOR_FAMILIES = {"nsfleet_proc_events_total", "nsfleet_proc_exits_total", "nsfleet_proc_exit_signals_total",
                      "nsfleet_proc_events_lost_total"}
CGROUP_ROOT = "/sys/fs/cgroup"

# For runbooks/stuck.yml on host1: one that crashes over and over, one whose PID 1 never reaps.
STUCK_WORKLOADS = """---
- name: Stuck workloads
  hosts: host1
  gather_facts: false
  tasks:
    - name: A crash loop
      nsfleet.pidns.workload:
        name: fleet-crash
        command: [/bin/sh, -c, "sleep 0.2; exit 3"]
        restart_policy: always
        cgroup_parent: "{{ fleet_cgroup_parent }}"
        state: started
    - name: A zombie holder
      nsfleet.pidns.workload:
        name: fleet-zombie
        command: [/bin/sh, -c, "/bin/true & exec sleep 3600"]
        init: false
        cgroup_parent: "{{ fleet_cgroup_parent }}"
        state: started
    - name: Wait for the zombie and a few restarts
      ansible.builtin.pause:
        seconds: 3
      when: "'absent' not in ansible_play_name"
"""


def make_tls(directory):
    """A CA and a certificate for the three addresses, signed by it."""
    def openssl(*argv):
        subprocess.run(["openssl"] + list(argv), check=True, capture_output=True, cwd=directory)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
            "-subj", "/CN=nsfleet test CA", "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=nsfleet agent",
            "-keyout", "agent.key", "-out", "agent.csr")
    with open(os.path.join(directory, "san.cnf"), "w") as extensions:
        extensions.write("subjectAltName=%s\n" % ",".join("IP:" + address for address in ADDRESSES.values()))
    openssl("x509", "-req", "-in", "agent.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "san.cnf", "-out", "agent.crt")
    os.chmod(os.path.join(directory, "agent.key"), 0o600)
    return directory


def build_wheels(directory):
    """The agent, its dependencies and its build backend as wheels, from the machine's configured index: an offline host's input."""
    subprocess.run([os.path.join(VENV_BIN, "pip"), "wheel", "--quiet", "--wheel-dir", directory,
                    os.path.join(TOP, "agent"), "setuptools", "wheel"], check=True, capture_output=True, timeout=600)
    return directory


class Fleet:
    def __init__(self, root, hosts, agent_port, tls_dir, wheel_dir):
        self.root = root
        self.hosts = hosts
        self.agent_port = agent_port
        self.tls_dir = tls_dir
        self.wheel_dir = wheel_dir
        self.inventory = os.path.join(root, "inventory.yml")
        self.prometheus_dir = os.path.join(root, "prometheus")
        os.makedirs(self.prometheus_dir, exist_ok=True)
        self.write_inventory()

    def cgroup_parent(self, host):
        return "/nsfleet-test-%d-%s" % (os.getpid(), host.name)

    def cgroups(self, host):
        """The host's cgroup parent in each hierarchy of this machine that has it."""
        for hierarchy in sorted(os.listdir(CGROUP_ROOT)):
            path = os.path.join(CGROUP_ROOT, hierarchy) + self.cgroup_parent(host)
            if os.path.isdir(path):
                yield path

    def remove_cgroups(self, timeout=15):
        """Once the hosts' killed processes are gone from them (the kernel takes a moment)."""
        deadline = time.monotonic() + timeout
        for host in self.hosts:
            for parent in self.cgroups(host):
                for directory, _subdirs, _files in sorted(os.walk(parent), reverse=True):
                    while True:
                        try:
                            os.rmdir(directory)
                            break
                        except FileNotFoundError:
                            break
                        except OSError:
                            if time.monotonic() > deadline:
                                raise
                            time.sleep(0.2)

    def instances(self):
        return ["%s:%d" % (host.address, self.agent_port) for host in self.hosts]

    def write_inventory(self):
        targets = {}
        for host in self.hosts:
            targets[host.name] = {"ansible_host": host.address, "ansible_port": host.port,
                                  "nsfleet_agent_listen_host": host.address,
                                  "fleet_cgroup_parent": self.cgroup_parent(host),
                                  "nsfleet_agent_workload_cgroup_parent": self.cgroup_parent(host)}
            if host.name != "host1":
                targets[host.name]["nsfleet_agent_wheel_dir"] = self.wheel_dir
        inventory = {"all": {"children": {
            "targets": {"hosts": targets, "vars": {
                "ansible_user": "root", "ansible_ssh_private_key_file": self.hosts[0].client_key,
                "ansible_python_interpreter": "/usr/bin/python3", "ansible_become": False,
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                "nsfleet_agent_port": self.agent_port,
                "nsfleet_agent_tls_server_config": {"cert_file": os.path.join(self.tls_dir, "agent.crt"),
                                                    "key_file": os.path.join(self.tls_dir, "agent.key")},
                "nsfleet_agent_basic_auth_users": {"prometheus": PASSWORD},
                "nsfleet_workloads": WORKLOADS}},
            "prometheus": {"hosts": {"prometheus-server": {
                "ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False,
                "nsfleet_agent_group": "targets",
                "nsfleet_prometheus_config_dir": self.prometheus_dir,
                "nsfleet_prometheus_main_config": os.path.join(self.prometheus_dir, "prometheus.yml"),
                "nsfleet_grafana_dashboards_dir": os.path.join(self.prometheus_dir, "grafana"),
                "nsfleet_prometheus_ca_file": os.path.join(self.tls_dir, "ca.crt"),
                "nsfleet_prometheus_file_group": "root", "nsfleet_prometheus_service": "",
                "nsfleet_prometheus_scrape_interval": "2s", "nsfleet_prometheus_scrape_timeout": "2s",
                "nsfleet_prometheus_evaluation_interval": "1s"}}}}}}
        with open(self.inventory, "w") as inventory_file:
            json.dump(inventory, inventory_file, indent=1)

    def playbook(self, name, *args, check=True):
        """ansible-playbook of the installed collection's playbooks/<name>; the CompletedProcess."""
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_STDOUT_CALLBACK="default",
                   ANSIBLE_FORKS="3", ANSIBLE_PIPELINING="True", ANSIBLE_LOCAL_TEMP=os.path.join(self.root, "ansible-tmp"))
        argv = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", self.inventory,
                os.path.join(PLAYBOOKS, name)] + list(args)  # an absolute name stays as it is
        result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900, check=False)
        if check and result.returncode != 0:
            raise AssertionError("ansible-playbook %s failed:\n%s\n%s" % (name, result.stdout[-20000:],
                                                                          result.stderr[-5000:]))
        return result

    def play(self, text, *args, check=True):
        """Run a play of the test's own, given as YAML text."""
        path = os.path.join(self.root, "play.yml")
        with open(path, "w") as play_file:
            play_file.write(text)
        return self.playbook(path, *args, check=check)


def recap(output):
    """{host: {"ok": n, "changed": n, "failed": n, ...}} from PLAY RECAP."""
    hosts = {}
    for match in re.finditer(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", output, re.MULTILINE):
        hosts[match.group(1)] = dict((key, int(value)) for key, value in re.findall(r"(\w+)=(\d+)", match.group(2)))
    return hosts


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("the fleet test needs root: it makes namespaces and starts sshd")
    root = str(tmp_path_factory.mktemp("fleet"))
    client_key = os.path.join(root, "client_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", client_key], check=True)
    hosts, fleet = [], None
    try:
        for name, address in ADDRESSES.items():
            directory = os.path.join(root, name)
            os.makedirs(directory)
            hosts.append(FleetHost(name, address, directory, client_key).start())
        tls_dir = make_tls(os.makedirs(os.path.join(root, "tls")) or os.path.join(root, "tls"))
        wheel_dir = build_wheels(os.path.join(root, "wheels"))
        fleet = Fleet(root, hosts, free_port_on(*ADDRESSES.values()), tls_dir, wheel_dir)
        yield fleet
    finally:
        for host in hosts:
            host.stop()
        if fleet is not None:
            fleet.remove_cgroups()


def test_provision_then_again_without_change(fleet):
    # Check mode on fresh hosts: says what it would do, does none of it.
    dry = fleet.playbook("provision.yml", "-e", "nsfleet_hosts=targets", "--check")
    assert all(host["changed"] > 0 and host["failed"] == 0 for host in recap(dry.stdout).values()), dry.stdout[-6000:]
    for host in fleet.hosts:
        assert host.leftovers() == ([], []), "check mode made %s" % (host.leftovers(),)
    first = fleet.playbook("provision.yml", "-e", "nsfleet_hosts=targets")
    assert all(counts["failed"] == 0 for counts in recap(first.stdout).values())
    second = fleet.playbook("provision.yml", "-e", "nsfleet_hosts=targets")
    counts = recap(second.stdout)
    assert sorted(counts) == ["host1", "host2", "host3"]
    assert all(host["changed"] == 0 for host in counts.values()), second.stdout[-6000:]
    check = fleet.playbook("provision.yml", "-e", "nsfleet_hosts=targets", "--check")
    assert all(host["changed"] == 0 for host in recap(check.stdout).values()), check.stdout[-6000:]
    for host in fleet.hosts:
        # The agent's virtualenv and web config are where the role puts them; only hashes in the config.
        assert os.path.exists(host.path("upper", "opt", "nsfleet-agent", "venv", "bin", "nsfleet-agent"))
        web_config = open(host.path("upper", "etc", "nsfleet-agent", "web.yml")).read()
        assert "$2b$" in web_config and PASSWORD not in web_config


def test_workloads_role_prunes_what_is_no_longer_declared(fleet):
    extra = {"nsfleet_workloads": WORKLOADS + [{"name": "fleet-extra", "command": ["sleep", "3600"]}]}
    fleet.playbook("provision.yml", "-e", "nsfleet_hosts=targets", "-e", json.dumps(extra), "--tags", "nsfleet_workloads")
    check = fleet.playbook("provision.yml", "-e", "nsfleet_hosts=targets", "--tags", "nsfleet_workloads", "--check")
    assert all(host["changed"] == 1 for host in recap(check.stdout).values()), check.stdout[-6000:]
    fleet.playbook("provision.yml", "-e", "nsfleet_hosts=targets", "--tags", "nsfleet_workloads")
    for host in fleet.hosts:
        assert not os.path.exists(host.path("var", "lib", "nsfleet", "fleet-extra"))
        assert os.path.exists(host.path("var", "lib", "nsfleet", "fleet-web"))


def test_prometheus_scrapes_every_agent_and_every_panel_has_data(fleet):
    fleet.playbook("monitoring.yml", "-e", "nsfleet_prometheus_hosts=prometheus")
    again = fleet.playbook("monitoring.yml", "-e", "nsfleet_prometheus_hosts=prometheus")
    assert all(host["changed"] == 0 for host in recap(again.stdout).values()), again.stdout[-6000:]
    directory = os.path.join(fleet.prometheus_dir, "nsfleet")
    assert sorted(os.listdir(directory)) == ["agents-ca.crt", "agents-password", "nsfleet-alerts.yml", "scrape.yml",
                                             "targets.yml"]
    assert os.path.exists(os.path.join(fleet.prometheus_dir, "grafana", "nsfleet.json"))
    subprocess.run(["promtool", "check", "config", os.path.join(fleet.prometheus_dir, "prometheus.yml")],
                   check=True, capture_output=True)
    dashboard = load(DASHBOARD)
    instances = fleet.instances()
    workdir = os.path.join(fleet.root, "prometheus-run")
    os.makedirs(workdir)
    with Prometheus(workdir, config_file=os.path.join(fleet.prometheus_dir, "prometheus.yml")) as prometheus:
        gaps = wait_for_dashboard(prometheus.url, dashboard, instances, only_families={"up"}, timeout=60)
        assert not gaps, "Prometheus does not scrape every agent: %s" % gaps
        targets = prometheus.api("/api/v1/targets")["activeTargets"]
        assert sorted(target["labels"]["instance"] for target in targets) == sorted(instances)
        assert all(target["health"] == "up" for target in targets), targets
        exported = set(label_values(prometheus.url, "__name__", '{job="nsfleet"}'))
        in_dashboard = set().union(*(families(expr) for _title, _ref, expr in queries(dashboard)))
        checked = set(name for name in in_dashboard if name in exported or not name.startswith("nsfleet_"))
        assert in_dashboard - checked <= CONNECTOR_FAMILIES, sorted(in_dashboard - checked - CONNECTOR_FAMILIES)
        assert len(instant_query(prometheus.url, "nsfleet_proc_connector_up == 0")) == len(instances)
        gaps = wait_for_dashboard(prometheus.url, dashboard, instances, only_families=checked)
        assert not gaps, "queries without data: %s" % gaps
        gaps = wait_for_dashboard(prometheus.url, dashboard, instances, only_families=checked, workload="fleet-web")
        assert not gaps, "queries without data for workload=fleet-web: %s" % gaps
        assert label_values(prometheus.url, "instance", 'nsfleet_build_info{job=~"nsfleet"}') == sorted(instances)
        # With the role's capabilities the agents read every process: no scrape skipped one for permission.
        assert instant_query(prometheus.url, 'nsfleet_scrape_errors_total{reason="permission"} > 0') == []


def test_runbook_inspect_shows_the_mapping_of_every_host(fleet):
    result = fleet.playbook("runbooks/inspect.yml", "-e", "nsfleet_hosts=targets", "-e", "workload=fleet-web")
    for name in ADDRESSES:
        rows = re.findall(r'"%s\s+running\s+(\d+)\s+(\d+)\s+\d+\s+(\S+)' % name, result.stdout)
        assert ("1" in [ns_pid for _host_pid, ns_pid, _comm in rows]
                and "sleep" in [comm for _host_pid, _ns_pid, comm in rows]), result.stdout[-4000:]


def test_runbook_stuck_finds_crash_loops_and_zombies(fleet):
    fleet.play(STUCK_WORKLOADS)
    try:
        result = fleet.playbook("runbooks/stuck.yml", "-e", "nsfleet_hosts=targets", "-e", "nsfleet_stuck_restarts=2",
                                "-e", "nsfleet_stuck_fail=true", check=False)
        assert recap(result.stdout)["host1"]["failed"] == 1, result.stdout[-6000:]
        assert "fleet-crash: crash-looping" in result.stdout, result.stdout[-6000:]
        assert "fleet-zombie: holding 1 zombies" in result.stdout, result.stdout[-6000:]
        assert recap(result.stdout)["host2"]["failed"] == 0
        assert "no stuck workloads" in result.stdout
    finally:
        fleet.play(STUCK_WORKLOADS.replace("state: started", "state: absent"))


def test_runbook_restart_rolls_host_by_host(fleet):
    result = fleet.playbook("runbooks/restart.yml", "-e", "nsfleet_hosts=targets", "-e", "workload=fleet-web",
                            "-e", "nsfleet_restart_serial=1")
    assert result.stdout.count("PLAY [Rolling restart of a workload]") == 3, result.stdout[-6000:]
    assert all(host["failed"] == 0 and host["changed"] == 1 for host in recap(result.stdout).values())
    missing = fleet.playbook("runbooks/restart.yml", "-e", "nsfleet_hosts=targets", "-e", "workload=fleet-nothing",
                             check=False)
    assert missing.returncode != 0 and "no workload fleet-nothing on host1" in missing.stdout
    assert "host2" not in recap(missing.stdout), "the roll went on after a failed host"


def test_runbook_exec_runs_in_the_workload(fleet):
    result = fleet.playbook("runbooks/exec.yml", "-e", "nsfleet_hosts=targets", "-l", "host2",
                            "-e", "workload=fleet-web", "-e", json.dumps({"command": ["cat", "/proc/1/comm"]}))
    assert "nsfleet-init" in result.stdout and "host1" not in recap(result.stdout)


def test_teardown_leaves_nothing(fleet):
    fleet.playbook("teardown.yml", "-e", "nsfleet_hosts=targets")
    for host in fleet.hosts:
        files, processes = host.leftovers()
        assert not files and not processes, "%s keeps %s %s" % (host.name, files, processes)
        cgroups = [directory for parent in fleet.cgroups(host) for directory in os.listdir(parent)
                   if os.path.isdir(os.path.join(parent, directory))]
        assert not cgroups, "%s keeps cgroups %s" % (host.name, cgroups)
    again = fleet.playbook("teardown.yml", "-e", "nsfleet_hosts=targets")
    assert all(host["changed"] == 0 for host in recap(again.stdout).values()), again.stdout[-6000:]
