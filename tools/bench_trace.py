"""make bench, agent tracing: the event-driven agent against lsns and against itself polling, in the same run.

At ~2,000 processes in 50 PID namespaces and ~10,000 in 200: lsns -t pid -J;
the agent with process events (the default) with --no-collector.proc_events
(polling), and with --collector.proc_events.stat-max-age=0 (every process's
CPU and memory read on every scrape): first scrape after start, steady
scrape, CPU per steady scrape, RSS;
and the agent's CPU while processes churn at about 1,000 forks a second.
Prints figures and ratios to lsns; never fails. BENCH_ONLY=trace runs only this.
"""

import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import AGENT, cpu_seconds, free_port, median_ms, row, rss_mb, start_namespaces, stop_namespaces, \
    timed_get, wait_listening  # noqa: E402  (a sibling script, not a package)

STEADY_SCRAPES = 10
CHURN_SECONDS = 10.0
CHURN_FORKS_PER_SECOND = 1000


def median_cpu_ms(argv, runs=7):
    """Median CPU time (user + system) of ``argv`` in ms: steadier than wall time on a shared machine."""
    times = []
    for _run in range(runs):
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _pid, _status, usage = os.wait4(child.pid, 0)
        child.returncode = 0
        times.append((usage.ru_utime + usage.ru_stime) * 1000)
    return statistics.median(times)


class RunningAgent:
    def __init__(self, workdir, extra_args=()):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/metrics" % self.port
        started = time.perf_counter()
        self.process = subprocess.Popen([AGENT, "--web.listen-address", "127.0.0.1:%d" % self.port,
                                         "--path.state", os.path.join(workdir, "none")] + list(extra_args),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(self.port, self.process, timeout=120)
        self.start_ms = (time.perf_counter() - started) * 1000

    def stop(self):
        self.process.terminate()
        self.process.wait()


def measure(workdir, extra_args):
    """(start-to-listening ms, first scrape ms, steady scrape ms, CPU ms per steady scrape, RSS MB, agent)."""
    starts, firsts = [], []
    agent = None
    for _attempt in range(3):
        if agent is not None:
            agent.stop()
        agent = RunningAgent(workdir, extra_args)
        starts.append(agent.start_ms)
        firsts.append(timed_get(agent.url)[0])
    timed_get(agent.url)
    cpu_before = cpu_seconds(agent.process.pid)
    steady = [timed_get(agent.url)[0] for _scrape in range(STEADY_SCRAPES)]
    cpu_ms = (cpu_seconds(agent.process.pid) - cpu_before) / STEADY_SCRAPES * 1000
    return (statistics.median(starts), statistics.median(firsts), statistics.median(steady), cpu_ms,
            rss_mb(agent.process.pid), agent)


def churn(seconds, per_second):
    """Spawn /bin/true at ``per_second`` for ``seconds`` (fork, exec and exit each); the rate reached."""
    spawned = 0
    started = time.monotonic()
    children = []
    while True:
        elapsed = time.monotonic() - started
        if elapsed >= seconds:
            break
        due = int(elapsed * per_second) - spawned
        for _spawn in range(max(0, min(due, 50))):
            children.append(os.posix_spawn("/bin/true", ["/bin/true"], os.environ))
            spawned += 1
        while children and os.waitpid(children[0], os.WNOHANG)[0]:
            children.pop(0)
        if due <= 0:
            time.sleep(0.001)
    for child in children:
        os.waitpid(child, 0)
    return spawned / (time.monotonic() - started)


def churn_cpu(agent, scrape_every=1.0):
    """The agent's CPU (share of one core) during the churn, scraped every ``scrape_every`` seconds meanwhile."""
    stop = threading.Event()

    def scrape_loop():
        while not stop.wait(scrape_every):
            timed_get(agent.url)

    scraper = threading.Thread(target=scrape_loop, daemon=True)
    cpu_before = cpu_seconds(agent.process.pid)
    wall_before = time.monotonic()
    scraper.start()
    rate = churn(CHURN_SECONDS, CHURN_FORKS_PER_SECOND)
    time.sleep(0.5)  # let the agent drain what is queued
    stop.set()
    scraper.join()
    share = (cpu_seconds(agent.process.pid) - cpu_before) / (time.monotonic() - wall_before)
    lost = 0
    for line in timed_get(agent.url)[1].decode().splitlines():
        if line.startswith("nsfleet_proc_events_lost_total "):
            lost = float(line.split()[1])
    return rate, share, lost


REREADS = {"none": None, "all": lambda process: True}  # "namespaced" needs the table: see _steady_in_process


def in_process_steady_ms(workdir, reread):
    """Median steady render() of an exporter with events whose table re-reads the ``reread`` processes' stat.

    In a child process: subscribing gives up CAP_NET_ADMIN, which this script's later agents inherit otherwise.
    """
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "--steady-in-process", reread, workdir],
                            capture_output=True, text=True, check=False)
    try:
        return float(result.stdout.strip())
    except ValueError:
        return None


def _steady_in_process(reread, workdir):
    from nsfleet_agent.exporter import make_exporter  # the agent's venv runs make bench
    from nsfleet_agent.sources.proc_events import ProcEvents

    events = ProcEvents()
    if not events.start():
        return None
    try:
        exporter = make_exporter(state_dir=os.path.join(workdir, "none"), proc_events=events)
        table = exporter.scraper.table
        if reread == "namespaced":
            table.reread = lambda process: process.pidns != table.own_pidns
        else:
            table.reread = REREADS[reread]
        exporter.prime()
        exporter.render()
        times = []
        for _scrape in range(STEADY_SCRAPES):
            started = time.perf_counter()
            exporter.render()
            times.append((time.perf_counter() - started) * 1000)
        table.close()
        return statistics.median(times)
    finally:
        events.stop()


def bench_at(workdir, namespaces, per_namespace):
    groups = start_namespaces(namespaces, per_namespace)
    agents = []
    try:
        total = len([name for name in os.listdir("/proc") if name.isdigit()])
        lsns_ms = median_ms(["lsns", "-t", "pid", "-J"], runs=7)
        lsns_cpu_ms = median_cpu_ms(["lsns", "-t", "pid", "-J"])
        events = measure(workdir, ())
        agents.append(events[-1])
        polling = measure(workdir, ("--no-collector.proc_events",))
        polling[-1].stop()
        exact = measure(workdir, ("--collector.proc_events.stat-max-age=0",))
        exact[-1].stop()
        rate, share, lost = churn_cpu(events[-1])
        rereads = [("events, stat of no process re-read", "none"),
                   ("events, stat of every namespaced process re-read", "namespaced"),
                   ("events, stat of every process re-read", "all")]
        in_process = [(label, in_process_steady_ms(workdir, reread)) for label, reread in rereads]
        print("Agent with process events vs polling, %d processes in %d PID namespaces (%d on the host; "
              "ratio to lsns):" % (namespaces * per_namespace, namespaces, total))
        row("lsns -t pid -J", lsns_ms, "ms", lsns_ms)
        row("lsns -t pid -J, CPU (user + system)", lsns_cpu_ms, "ms", lsns_cpu_ms)
        for label, figures in (("events", events), ("polling", polling), ("events, stat-max-age 0", exact)):
            start_ms, first_ms, steady_ms, cpu_ms, rss, _agent = figures
            row("%s: start to listening (primes the cache)" % label, start_ms, "ms", lsns_ms)
            row("%s: first scrape after start (goal 0.5x)" % label, first_ms, "ms", lsns_ms)
            row("%s: steady scrape, median of %d (goal 0.1x)" % (label, STEADY_SCRAPES), steady_ms, "ms", lsns_ms)
            row("%s: CPU per steady scrape (ratio to lsns CPU)" % label, cpu_ms, "ms", lsns_cpu_ms)
            row("%s: RSS (goal 40 MB at 10,000)" % label, rss, "MB")
        print("  Steady scrape in process (render() alone), by how much of /proc/PID/stat is kept fresh:")
        for label, value in in_process:
            row(label, value, "ms", lsns_ms)
        row("events: CPU under churn, % of a core (goal 25)", share * 100, "%")
        row("events: the same, scaled to 1,000 forks/s", share * 100 * 1000 / rate, "%")
        print("  (churn reached %.0f spawns/s of /bin/true, each a fork, an exec and an exit; %d events lost)"
              % (rate, lost))
    finally:
        for agent in agents:
            agent.stop()
        stop_namespaces(groups)


def main(workdir):
    bench_at(workdir, 50, 40)
    bench_at(workdir, 200, 50)


if __name__ == "__main__":
    import tempfile
    if sys.argv[1:2] == ["--steady-in-process"]:
        print(_steady_in_process(sys.argv[2], sys.argv[3]))
        sys.exit(0)
    if os.geteuid() != 0:
        sys.exit("the tracing bench needs root: it creates namespaces and subscribes to process events")
    main(tempfile.mkdtemp(prefix="nsfleet-bench-trace-"))
