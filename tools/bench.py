"""make bench: nsfleet against its peers, measured in the same run. Prints figures; never fails.

Executor: start-to-exit latency of a namespaced /bin/true (median of many runs)
for nsfleet, runc (busybox rootfs, PID and mount namespaces only) and
unshare --pid --fork --mount-proc; then the memory of one idle workload.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NSFLEET = os.path.join(TOP, "build", "nsfleet")
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
        print("  %-48s %10s" % (label, "failed"))
        return
    ratio = "" if reference is None else "  %.2fx" % (value / reference)
    print("  %-48s %8.1f %s%s" % (label, value, unit, ratio))


def bench_executor(workdir):
    bundle, rootfs = runc_bundle(os.path.join(workdir, "runc"))
    runc_ms = median_ms(["runc", "run", "--bundle", bundle, "nsfleet-bench"])
    peers = [
        ("nsfleet run --rm -- /bin/true", median_ms([NSFLEET, "run", "--rm", "--", "/bin/true"])),
        ("nsfleet run --rm --rootfs busybox -- /bin/true",
         median_ms([NSFLEET, "run", "--rm", "--rootfs", rootfs, "--", "/bin/true"])),
        ("nsfleet run --rm --no-init -- /bin/true", median_ms([NSFLEET, "run", "--rm", "--no-init", "--", "/bin/true"])),
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
    finally:
        subprocess.run(nsfleet + ["rm", "--force", "idle"], stdout=subprocess.DEVNULL, check=False)


def main():
    if os.geteuid() != 0:
        sys.exit("make bench needs root: it creates namespaces")
    workdir = tempfile.mkdtemp(prefix="nsfleet-bench-")
    try:
        bench_executor(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
