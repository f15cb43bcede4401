"""make bench: nsfleet against its peers, measured in the same run. Prints figures; never fails.

Executor: start-to-exit latency of a namespaced /bin/true (median of many runs)
for nsfleet, runc (busybox rootfs, PID and mount namespaces only) and
unshare --pid --fork --mount-proc; then the memory of one idle workload, and
exec into it against nsenter -a.

Agent: scrape time with ~2,000 processes in 50 PID namespaces and ~10,000 in
200, against lsns -t pid -J and prometheus-process-exporter on the same
processes; the agent's RSS and CPU seconds per scrape. Then what the resource
collector costs at 2,000 processes: agents with it off and on, scraped in turn
in the same run, without workloads and with one workload per namespace whose
state names a real cgroup.

Batch (tools/bench_batch.py): 100 workloads converged by one workloads task
against a loop of 100 workload tasks, first creation and repeat.

Trace (tools/bench_trace.py): the event-driven agent against polling and
lsns -t pid -J, at 2,000 and 10,000 processes, and under a churn of forks.

Baselines (tools/bench_baseline.py): the executor's start-up and memory against earlier revisions, built
from git and interleaved with this tree and runc in one run. By default against 77ac940, the last revision
before issues 6-11 (the start-up ratio to runc the hardening issue asked to keep), and 0efd590, where the
previous session took up issues 7 and 8. BENCH_BASELINE=REV[,REV...] picks others; BENCH_BASELINE=none skips.

BENCH_ONLY=executor, agent, resources, batch, baseline or trace runs one part (agent includes resources).
"""

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from bench_batch import bench_batch

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NSFLEET = os.path.join(TOP, "build", "nsfleet")
# Revisions the executor's start-up is compared with (see the docstring).
DEFAULT_BASELINES = "77ac940,0efd590"
AGENT = os.path.join(TOP, ".venv", "bin", "nsfleet-agent")
PROCESS_EXPORTER_CONFIG = """process_names:
  - name: "{{.Comm}}"
    cmdline:
      - '.+'
"""
RUNS = int(os.environ.get("BENCH_RUNS", "31"))


def median_ms(argv, runs=RUNS):
    """Median wall time of ``argv`` in ms, after one warm-up run; None if it fails."""
    if subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode != 0:
        return None
    times = []
    for _run in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def runc_bundle(directory):
    """A runc bundle: static busybox rootfs running /bin/true with only PID and mount namespaces."""
    rootfs = os.path.join(directory, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"))
    shutil.copy(shutil.which("busybox") or "/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    os.symlink("busybox", os.path.join(rootfs, "bin", "true"))
    subprocess.run(["runc", "spec"], cwd=directory, check=True)
    config_path = os.path.join(directory, "config.json")
    with open(config_path) as config_file:
        config = json.load(config_file)
    config["process"]["args"] = ["/bin/true"]
    config["process"]["terminal"] = False
    config.pop("hostname", None)  # a hostname needs a UTS namespace; compare like with like
    config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"] if ns["type"] in ("pid", "mount")]
    with open(config_path, "w") as config_file:
        json.dump(config, config_file)
    return directory, rootfs


def pss_kib(pid):
    with open("/proc/%d/smaps_rollup" % pid) as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def row(label, value, unit, reference=None):
    if value is None:
        print("  %-70s %10s" % (label, "failed"))
        return
    ratio = "" if reference is None else "  %.2fx" % (value / reference)
    print("  %-70s %8.1f %s%s" % (label, value, unit, ratio))


def bench_executor(workdir):
    bundle, rootfs = runc_bundle(os.path.join(workdir, "runc"))
    runc_ms = median_ms(["runc", "run", "--bundle", bundle, "nsfleet-bench"])
    peers = [
        ("nsfleet run --rm -- /bin/true", median_ms([NSFLEET, "run", "--rm", "--", "/bin/true"])),
        ("nsfleet run --rm --rootfs busybox -- /bin/true",
         median_ms([NSFLEET, "run", "--rm", "--rootfs", rootfs, "--", "/bin/true"])),
        ("nsfleet run --rm --rootfs busybox --ns user=private -- /bin/true",
         median_ms([NSFLEET, "run", "--rm", "--rootfs", rootfs, "--ns", "user=private", "--", "/bin/true"])),
        ("nsfleet run --rm --no-init -- /bin/true", median_ms([NSFLEET, "run", "--rm", "--no-init", "--", "/bin/true"])),
        # A cgroup made, limited, entered and removed per run, as runc does too.
        ("nsfleet run --rm --memory 64m --pids-limit 100 --cpus 1 -- /bin/true",
         median_ms([NSFLEET, "--state-dir", os.path.join(workdir, "limits"), "run", "--rm", "--memory", "64m",
                    "--pids-limit", "100", "--cpus", "1", "--", "/bin/true"])),
        ("runc run (busybox rootfs, pid+mount)", runc_ms),
        ("unshare --pid --fork --mount-proc /bin/true",
         median_ms(["unshare", "--pid", "--fork", "--mount-proc", "/bin/true"])),
        ("python3 -IS -c pass (bare interpreter start)", median_ms(["/usr/bin/python3", "-IS", "-c", "pass"])),
    ]
    print("Start-to-exit of a namespaced /bin/true, median of %d runs (ratio to runc):" % RUNS)
    for label, value in peers:
        row(label, value, "ms", runc_ms)

    state_dir = os.path.join(workdir, "state")
    nsfleet = [NSFLEET, "--state-dir", state_dir]
    workload = json.loads(subprocess.run(nsfleet + ["run", "--detach", "--name", "idle", "--", "/bin/sleep", "600"],
                                         capture_output=True, text=True, check=True).stdout)
    try:
        time.sleep(0.5)
        supervisor = workload["supervisor_host_pid"]
        init = workload["init_host_pid"]
        supervisor_kib, init_kib = pss_kib(supervisor), pss_kib(init)
        print("Memory of one idle workload (PSS from smaps_rollup; goal at most 6 MB):")
        row("supervisor (nsfleet-sup)", supervisor_kib / 1024, "MB")
        row("init (nsfleet-init, PID 1)", init_kib / 1024, "MB")
        row("supervisor + init", (supervisor_kib + init_kib) / 1024, "MB")
        nsenter_ms = median_ms(["nsenter", "-t", str(init), "-a", "/bin/true"])
        print("Exec of /bin/true into that running workload, median of %d runs (ratio to nsenter -a):" % RUNS)
        row("nsfleet exec idle -- /bin/true", median_ms(nsfleet + ["exec", "idle", "--", "/bin/true"]), "ms",
            nsenter_ms)
        row("nsfleet exec --json idle -- /bin/true (the module's call)",
            median_ms(nsfleet + ["exec", "--json", "idle", "--", "/bin/true"]), "ms", nsenter_ms)
        row("nsenter -t INIT -a /bin/true", nsenter_ms, "ms", nsenter_ms)
    finally:
        subprocess.run(nsfleet + ["rm", "--force", "idle"], stdout=subprocess.DEVNULL, check=False)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("exited before listening")
            time.sleep(0.05)
    raise RuntimeError("not listening after %ss" % timeout)


def timed_get(url):
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:
        body = response.read()
    return (time.perf_counter() - started) * 1000, body


def start_namespaces(count, per_namespace):
    """``count`` PID namespaces, each with an init and per_namespace - 1 sleepers."""
    script = "i=1; while [ $i -lt %d ]; do sleep 3600 & i=$((i+1)); done; wait" % per_namespace
    groups = [subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", script],
                               start_new_session=True) for _namespace in range(count)]
    want = count * per_namespace
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        inside = 0
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    if os.getsid(int(pid)) in set(group.pid for group in groups) and int(pid) not in set(
                            group.pid for group in groups):
                        inside += 1
                except OSError:
                    continue
        if inside >= want:
            break
        time.sleep(0.5)
    return groups


def stop_namespaces(groups):
    for group in groups:
        try:
            os.killpg(group.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for group in groups:
        group.wait()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as stat_file:
        fields = stat_file.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def bench_agent_at(workdir, namespaces, per_namespace, steady_scrapes=10):
    groups = start_namespaces(namespaces, per_namespace)
    agent = exporter = None
    try:
        total = len([name for name in os.listdir("/proc") if name.isdigit()])
        lsns_ms = median_ms(["lsns", "-t", "pid", "-J"], runs=7)

        # A cold first scrape, three times (each a fresh agent), then steady scrapes on the last one.
        first_scrapes = []
        for attempt in range(3):
            if agent is not None:
                agent.terminate()
                agent.wait()
            agent_port = free_port()
            agent = subprocess.Popen([AGENT, "--web.listen-address", "127.0.0.1:%d" % agent_port,
                                      "--path.state", os.path.join(workdir, "none")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_listening(agent_port, agent)
            agent_url = "http://127.0.0.1:%d/metrics" % agent_port
            elapsed, body = timed_get(agent_url)
            first_scrapes.append(elapsed)
        first_ms = statistics.median(first_scrapes)
        timed_get(agent_url)  # the second scrape opens the stat descriptors it will keep
        cpu_before = cpu_seconds(agent.pid)
        steady = [timed_get(agent_url)[0] for _scrape in range(steady_scrapes)]
        cpu_per_scrape = (cpu_seconds(agent.pid) - cpu_before) / steady_scrapes
        series = body.count(b"\nnsfleet_pid_mapping{")

        config = os.path.join(workdir, "process-exporter.yml")
        with open(config, "w") as config_file:
            config_file.write(PROCESS_EXPORTER_CONFIG)
        exporter_port = free_port()
        exporter = subprocess.Popen(["prometheus-process-exporter", "-config.path", config, "-web.listen-address",
                                     "127.0.0.1:%d" % exporter_port], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        wait_listening(exporter_port, exporter)
        exporter_url = "http://127.0.0.1:%d/metrics" % exporter_port
        timed_get(exporter_url)
        exporter_ms = statistics.median(timed_get(exporter_url)[0] for _scrape in range(5))

        print("Scrape time, %d processes in %d PID namespaces (%d on the host in all; ratio to lsns):"
              % (namespaces * per_namespace, namespaces, total))
        row("lsns -t pid -J", lsns_ms, "ms", lsns_ms)
        row("prometheus-process-exporter (all processes)", exporter_ms, "ms", lsns_ms)
        row("nsfleet-agent first scrape (median of 3 fresh agents)", first_ms, "ms", lsns_ms)
        row("nsfleet-agent steady-state scrape (median of %d)" % steady_scrapes, statistics.median(steady),
            "ms", lsns_ms)
        row("nsfleet-agent CPU per steady scrape", cpu_per_scrape * 1000, "ms")
        row("nsfleet-agent RSS", rss_mb(agent.pid), "MB")
        print("  (%d nsfleet_pid_mapping series per scrape)" % series)
    finally:
        for process in (agent, exporter):
            if process is not None:
                process.terminate()
                process.wait()
        stop_namespaces(groups)


def make_bench_cgroups(count):
    """``count`` empty cgroups of the kind this host has; (state.json "cgroup" records, directories to remove)."""
    prefix = "nsfleet-bench-%d" % os.getpid()
    root = "/sys/fs/cgroup"
    records, made = [], []
    for index in range(count):
        name = "%s-%d" % (prefix, index)
        if os.path.isdir(os.path.join(root, "memory")):  # v1 controllers (a hybrid host too)
            dirs = dict((controller, os.path.join(root, controller, name)) for controller in ("memory", "pids", "cpuacct"))
            record = {"version": 1, "path": "/" + name, "dirs": dirs}
        else:
            dirs = {"unified": os.path.join(root, name)}
            record = {"version": 2, "path": "/" + name, "dirs": dirs}
        for directory in dirs.values():
            os.mkdir(directory)
            made.append(directory)
        records.append(record)
    return records, made


def write_bench_states(state_dir, groups, cgroups):
    """A running workload's state.json per namespace: its init, its PID namespace, a cgroup."""
    with open("/proc/sys/kernel/random/boot_id") as boot_id_file:
        boot_id = boot_id_file.read().strip()
    for index, (group, cgroup) in enumerate(zip(groups, cgroups)):
        with open("/proc/%d/task/%d/children" % (group.pid, group.pid)) as children:
            init_pid = int(children.read().split()[0])
        with open("/proc/%d/stat" % init_pid) as stat_file:
            start_time = int(stat_file.read().rpartition(")")[2].split()[19])
        name = "bench-%d" % index
        os.makedirs(os.path.join(state_dir, name))
        with open(os.path.join(state_dir, name, "state.json"), "w") as state_file:
            json.dump({"schema": 1, "name": name, "status": "running", "restart_count": 0, "boot_id": boot_id,
                       "init": {"pid": init_pid, "start_time": start_time},
                       "namespaces": {"pid": os.readlink("/proc/%d/ns/pid" % init_pid)}, "cgroup": cgroup}, state_file)


def bench_resource_collector(workdir, namespaces=50, per_namespace=40, rounds=30):
    groups = start_namespaces(namespaces, per_namespace)
    agents = {}
    made = []
    try:
        records, made = make_bench_cgroups(namespaces)
        state_dir = os.path.join(workdir, "resources", "run", "nsfleet")
        write_bench_states(state_dir, groups, records)
        for label, state, switch in (("no workloads, off", "none", "--no-collector.resources"),
                                     ("no workloads, on", "none", "--collector.resources"),
                                     ("%d cgroup workloads, off" % namespaces, state_dir, "--no-collector.resources"),
                                     ("%d cgroup workloads, on" % namespaces, state_dir, "--collector.resources")):
            port = free_port()
            process = subprocess.Popen([AGENT, "--web.listen-address", "127.0.0.1:%d" % port, "--path.state",
                                        os.path.join(workdir, state) if state == "none" else state, switch],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            agents[label] = (process, "http://127.0.0.1:%d/metrics" % port)
            wait_listening(port, process)
        for process, url in agents.values():
            timed_get(url)
            timed_get(url)  # the second scrape runs on the descriptors the first one opened
        times = dict((label, []) for label in agents)
        cpu = dict((label, 0.0) for label in agents)
        order = list(agents)
        for round_index in range(rounds):
            for label in (order if round_index % 2 == 0 else order[::-1]):  # neither side always goes first
                process, url = agents[label]
                before = cpu_seconds(process.pid)
                times[label].append(timed_get(url)[0])
                cpu[label] += cpu_seconds(process.pid) - before
        series = timed_get(agents[order[3]][1])[1].count(b"\nnsfleet_workload_")
        print("Resource collector cost, %d processes in %d PID namespaces (median of %d scrapes taken in turn; "
              "ratio to the same agent with --no-collector.resources):" % (namespaces * per_namespace, namespaces, rounds))
        for off, on in ((order[0], order[1]), (order[2], order[3])):
            off_ms, on_ms = statistics.median(times[off]), statistics.median(times[on])
            row("nsfleet-agent steady scrape, %s" % off, off_ms, "ms", off_ms)
            row("nsfleet-agent steady scrape, %s" % on, on_ms, "ms", off_ms)
            row("nsfleet-agent CPU per scrape, %s" % off, cpu[off] * 1000 / rounds, "ms", cpu[off] * 1000 / rounds)
            row("nsfleet-agent CPU per scrape, %s" % on, cpu[on] * 1000 / rounds, "ms", cpu[off] * 1000 / rounds)
        print("  (%d nsfleet_workload_* series per scrape with cgroup workloads)" % series)
    finally:
        for process, _url in agents.values():
            process.terminate()
            process.wait()
        stop_namespaces(groups)
        for directory in made:
            try:
                os.rmdir(directory)
            except OSError as error:
                print("  could not remove %s: %s" % (directory, error))


def main():
    if os.geteuid() != 0:
        sys.exit("make bench needs root: it creates namespaces")
    workdir = tempfile.mkdtemp(prefix="nsfleet-bench-")
    try:
        if os.environ.get("BENCH_ONLY") in (None, "", "executor"):
            bench_executor(workdir)
        if os.environ.get("BENCH_ONLY") in (None, "", "agent"):
            bench_agent_at(workdir, 50, 40)
            bench_agent_at(workdir, 200, 50)
        if os.environ.get("BENCH_ONLY") in (None, "", "agent", "resources"):
            bench_resource_collector(workdir)
        if os.environ.get("BENCH_ONLY") in (None, "", "batch"):
            bench_batch(workdir)
        baselines = os.environ.get("BENCH_BASELINE", DEFAULT_BASELINES)
        if os.environ.get("BENCH_ONLY") in (None, "", "baseline") and baselines != "none":
            import bench_baseline  # here, not at the top: it imports this module's helpers
            for revision in baselines.split(","):
                bench_baseline.bench_baseline(revision, os.path.join(workdir, "baseline-" + revision))
        if os.environ.get("BENCH_ONLY") in (None, "", "trace"):
            import bench_trace  # here, not at the top: it imports this module's helpers
            bench_trace.main(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
