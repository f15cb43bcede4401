"""Start-up and memory of the executor against an earlier revision's, measured in the same run.

    python3 tools/bench_baseline.py REV        (also: BENCH_BASELINE=REV make bench)

Builds REV's bundle from `git archive` into a temporary directory, then times
`nsfleet run --rm -- /bin/true` for REV, for this tree's bundle and for runc,
one of each per round (interleaved, so load hits all three alike), and reads
the PSS of an idle workload's supervisor and init for both bundles. Prints
figures; never fails on them.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench import NSFLEET, TOP, pss_kib, runc_bundle

ROUNDS = int(os.environ.get("BENCH_RUNS", "41"))


def build_bundle(revision, workdir):
    """REV's executor bundle, built by REV's own bundler."""
    tree = os.path.join(workdir, "tree")
    os.makedirs(tree)
    archive = subprocess.run(["git", "-C", TOP, "archive", revision], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
    bundle = os.path.join(tree, "build", "nsfleet")
    subprocess.run([sys.executable, os.path.join(tree, "plugins", "module_utils", "_executor_bundle.py"), bundle],
                   stdout=subprocess.DEVNULL, check=True)
    return bundle


def interleaved_medians(commands, rounds):
    """Median wall time in ms of each command, run one after another in every round, after a warm-up."""
    times = dict((label, []) for label in commands)
    for warm_up in (True,) + (False,) * rounds:
        for label, argv in commands.items():
            started = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            if not warm_up:
                times[label].append((time.perf_counter() - started) * 1000)
    return dict((label, statistics.median(values)) for label, values in times.items())


def idle_pss_mb(bundle, state_dir):
    """PSS in MB of an idle workload's supervisor and init."""
    nsfleet = [bundle, "--state-dir", state_dir]
    workload = json.loads(subprocess.run(nsfleet + ["run", "--detach", "--name", "idle", "--", "/bin/sleep", "600"],
                                         capture_output=True, text=True, check=True).stdout)
    try:
        time.sleep(1)
        return pss_kib(workload["supervisor_host_pid"]) / 1024, pss_kib(workload["init_host_pid"]) / 1024
    finally:
        subprocess.run(nsfleet + ["rm", "--force", "idle"], stdout=subprocess.DEVNULL, check=False)


def bench_baseline(revision, workdir):
    try:
        baseline = build_bundle(revision, os.path.join(workdir, "baseline"))
    except subprocess.CalledProcessError:
        print("Baseline %s: not in this clone's history (a shallow clone or a tarball), skipped" % revision)
        return
    bundles = {revision: baseline, "this tree": NSFLEET}
    commands = dict((label, [bundle, "--state-dir", os.path.join(workdir, "state-" + str(index)), "run", "--rm",
                             "--", "/bin/true"])
                    for index, (label, bundle) in enumerate(bundles.items()))
    commands["runc"] = ["runc", "run", "--bundle", runc_bundle(os.path.join(workdir, "runc"))[0], "nsfleet-baseline"]
    medians = interleaved_medians(commands, ROUNDS)
    print("run --rm -- /bin/true against %s, median of %d interleaved rounds (ratio to runc):" % (revision, ROUNDS))
    for label, value in medians.items():
        print("  %-40s %8.1f ms  %.2fx" % (label, value, value / medians["runc"]))
    print("Memory of one idle workload (PSS):")
    for index, (label, bundle) in enumerate(bundles.items()):
        supervisor, init = idle_pss_mb(bundle, os.path.join(workdir, "idle-" + str(index)))
        print("  %-40s supervisor %.1f MB, init %.1f MB" % (label, supervisor, init))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    workdir = tempfile.mkdtemp(prefix="nsfleet-baseline-")
    try:
        bench_baseline(sys.argv[1], workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
