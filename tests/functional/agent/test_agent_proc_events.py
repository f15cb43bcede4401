"""Process events from the kernel's process connector, for real: counts per namespace, loss, refusal, trace."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

from agent_process import AGENT, Agent, pidns_of

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
NSFLEET = os.path.join(TOP, "build", "nsfleet")
BURST = 10000


def total(samples, name, **labels):
    return sum(value for found, value in samples.get(name, [])
               if all(found.get(key) == str(want) for key, want in labels.items()))


def release(fifo, timeout=60):
    """Let a shell blocked in ``read < fifo`` go on: open the fifo for writing once it has a reader."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            return
        except OSError as error:
            if error.errno != errno.ENXIO or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def wait_for_file(path, timeout):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "%s did not appear within %ss" % (path, timeout)
        time.sleep(0.1)


def find_pid(marker, outside=(), timeout=20):
    """The PID of a process whose command line holds ``marker``, in a PID namespace not in ``outside``."""
    outside = set(outside) | {pidns_of(os.getpid())}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as cmdline:
                        if marker.encode() in cmdline.read() and pidns_of(int(pid)) not in outside:
                            return int(pid)
                except OSError:
                    continue
        time.sleep(0.05)
    raise AssertionError("no process with %r" % marker)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as status:
        return int([line for line in status if line.startswith("VmRSS:")][0].split()[1])


class Trace:
    """nsfleet-agent trace --json into a file, running until stopped with SIGINT (Ctrl-C)."""

    def __init__(self, output, *args):
        self.output = output
        with open(output, "w") as out:
            self.process = subprocess.Popen([AGENT, "trace", "--json"] + list(args), stdout=out,
                                            stderr=subprocess.PIPE, text=True)
        line = self.process.stderr.readline()  # the first log line comes once it is subscribed
        assert "tracing process events" in line, line

    def lines(self):
        with open(self.output) as out:
            return out.read().count("\n")

    def wait_quiet(self, at_least, timeout=300):
        """Until ``at_least`` lines are out, or none came for two seconds: the trace has caught up."""
        deadline = time.monotonic() + timeout
        count, changed_at = -1, time.monotonic()
        while time.monotonic() < deadline:
            now = self.lines()
            if now >= at_least:
                return
            if now != count:
                count, changed_at = now, time.monotonic()
            elif time.monotonic() - changed_at > 2:
                return
            time.sleep(0.2)

    def stop(self):
        self.process.send_signal(signal.SIGINT)
        _out, err = self.process.communicate(timeout=60)
        with open(self.output) as out:
            return self.process.returncode, [json.loads(line) for line in out], err


def test_a_burst_of_short_lived_processes_in_a_workload_is_counted_and_traced(tmp_path):
    root = str(tmp_path / "host")
    nsfleet = [NSFLEET, "--state-dir", root]
    go, done, hold = str(tmp_path / "go"), str(tmp_path / "done"), str(tmp_path / "hold")
    os.mkfifo(go)
    os.mkfifo(hold)
    # Builtins only around the burst (read, echo, [, arithmetic): the burst's execs are /bin/true's alone.
    script = ('read x < %s; i=0; while [ $i -lt %d ]; do /bin/true; i=$((i+1)); done; echo > %s; read y < %s'
              % (go, BURST, done, hold))
    agent = Agent(os.path.join(root, "run", "nsfleet"))
    trace = None
    try:
        workload = json.loads(subprocess.run(nsfleet + ["run", "--detach", "--name", "burst", "--", "/bin/sh", "-c",
                                                        script], capture_output=True, text=True, check=True).stdout)
        pidns = pidns_of(workload["init_host_pid"])
        trace = Trace(str(tmp_path / "trace.jsonl"), "--workload", "burst", "--path.state",
                      os.path.join(root, "run", "nsfleet"))
        before = agent.scrape()
        assert total(before, "nsfleet_proc_connector_up") == 1
        release(go)
        wait_for_file(done, timeout=600)
        after = agent.scrape()
        trace.wait_quiet(3 * BURST)
        code, records, err = trace.stop()
        trace = None

        def delta(name, **labels):
            return total(after, name, **labels) - total(before, name, **labels)

        lost = delta("nsfleet_proc_events_lost_total")
        execs = delta("nsfleet_proc_events_total", event="exec", pidns=pidns, workload="burst")
        assert execs + lost >= BURST and execs <= BURST
        if lost == 0:
            assert execs == BURST
            assert delta("nsfleet_proc_events_total", event="fork", pidns=pidns) == BURST
            assert delta("nsfleet_proc_events_total", event="exit", pidns=pidns) == BURST
            assert delta("nsfleet_proc_exits_total", pidns=pidns, how="exited") == BURST
        # The trace saw the same burst: one line per event, in the workload, and nothing else.
        assert code == 0 and "Traceback" not in err
        assert set(record["workload"] for record in records) == {"burst"}
        assert set(record["pidns"] for record in records) == {int(pidns)}
        assert all(record["ns_pid"] != 1 for record in records)  # the init took no part
        by_event = dict((event, [record for record in records if record["event"] == event])
                        for event in ("fork", "exec", "exit"))
        if lost == 0 and "dropped events" not in err:
            assert [len(by_event[event]) for event in ("fork", "exec", "exit")] == [BURST, execs, BURST]
            assert all(record["how"] == "exited" and record["exit_code"] == 0 for record in by_event["exit"])
        assert [record for record in by_event["exec"] if record["exe"] == "/usr/bin/true"
                and record["cmdline"] == ["/bin/true"]]
        release(hold)
    finally:
        if trace is not None:
            trace.stop()
        subprocess.run(nsfleet + ["rm", "--force", "burst"], capture_output=True, check=False)
        agent.stop()


FORK_AND_EXIT = """
import os, sys
sys.stdin.readline()
for _ in range(%d):
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
print("done", flush=True)
sys.stdin.readline()
"""


def test_a_process_that_forks_and_exits_within_a_millisecond_counts_in_its_namespace(tmp_path):
    forks = 200
    agent = Agent(str(tmp_path / "state"))
    namespace = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
                                  FORK_AND_EXIT % forks, "fork-and-exit-marker"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pidns = pidns_of(find_pid("fork-and-exit-marker"))
        before = agent.scrape()
        namespace.stdin.write("go\n")
        namespace.stdin.flush()
        assert namespace.stdout.readline() == "done\n"
        after = agent.scrape()
        lost = total(after, "nsfleet_proc_events_lost_total") - total(before, "nsfleet_proc_events_lost_total")
        for event in ("fork", "exit"):
            counted = (total(after, "nsfleet_proc_events_total", event=event, pidns=pidns)
                       - total(before, "nsfleet_proc_events_total", event=event, pidns=pidns))
            assert counted <= forks and counted + lost >= forks, event
        assert total(after, "nsfleet_pidns_processes", pidns=pidns) == 1  # the children are gone, not cached
    finally:
        namespace.stdin.close()
        namespace.wait(timeout=30)
        agent.stop()


def test_nested_namespaces_are_attributed_at_their_own_level(tmp_path):
    go, go_inner, done, hold = (str(tmp_path / name) for name in ("go", "go_inner", "done", "hold"))
    for fifo in (go, go_inner, hold):
        os.mkfifo(fifo)
    inner = ('read y < %s; i=0; while [ $i -lt 20 ]; do /bin/true; i=$((i+1)); done; echo > %s; read z < %s '
             '# inner-marker' % (go_inner, done, hold))
    outer = ("read x < %s; i=0; while [ $i -lt 5 ]; do /bin/true; i=$((i+1)); done; "
             "unshare --pid --fork --mount-proc sh -c '%s'; # outer-marker" % (go, inner))
    agent = Agent(str(tmp_path / "state"))
    namespaces = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", outer],
                                  start_new_session=True)
    try:
        outer_ns = pidns_of(find_pid("# outer-marker"))
        before = agent.scrape()
        release(go)
        inner_ns = pidns_of(find_pid("# inner-marker", outside=[outer_ns]))
        inner_before = agent.scrape()
        release(go_inner)
        wait_for_file(done, timeout=120)
        after = agent.scrape()
        if total(after, "nsfleet_proc_events_lost_total") == total(before, "nsfleet_proc_events_lost_total"):
            for event in ("fork", "exec"):
                # Five /bin/true and the unshare that made the inner namespace; the inner one's twenty.
                assert (total(after, "nsfleet_proc_events_total", event=event, pidns=outer_ns)
                        - total(before, "nsfleet_proc_events_total", event=event, pidns=outer_ns)) == 6, event
                assert (total(after, "nsfleet_proc_events_total", event=event, pidns=inner_ns)
                        - total(inner_before, "nsfleet_proc_events_total", event=event, pidns=inner_ns)) == 20, event
        info = dict((labels["pidns"], labels) for labels, _v in after["nsfleet_pidns_info"])
        assert int(info[inner_ns]["level"]) == int(info[outer_ns]["level"]) + 1
        release(hold)
    finally:
        try:
            os.killpg(namespaces.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        namespaces.wait(timeout=30)
        agent.stop()


def read_log(process, timeout=30):
    """All an agent wrote on stderr, once it exits (or ``timeout`` passes)."""
    os.set_blocking(process.stderr.fileno(), False)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(process.stderr.fileno(), 65536)
        except BlockingIOError:
            time.sleep(0.05)
            continue
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def polls_correctly(agent, pidns, processes, kill_one):
    """up 0, no event series, and process counts that follow a kill."""
    samples = agent.scrape()
    assert total(samples, "nsfleet_proc_connector_up") == 0
    assert "nsfleet_proc_events_total" not in samples
    assert total(samples, "nsfleet_pidns_processes", pidns=pidns) == processes
    kill_one()
    deadline = time.monotonic() + 30
    while total(agent.scrape(), "nsfleet_pidns_processes", pidns=pidns) != processes - 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_outside_the_initial_user_namespace_the_agent_polls_and_says_so_once(tmp_path):
    # Root of a new user namespace is refused the connector (EPERM). It can read /proc/PID/ns only of the
    # processes in its own user namespace, so the namespace it counts is made there too.
    token = "%d" % (6000 + os.getpid() % 1000)
    inside = 'unshare --pid --fork --mount-proc sh -c "sleep %s.1 & sleep %s.2 & wait" & exec "$@"' % (token, token)
    agent = Agent(str(tmp_path / "state"), launcher=["unshare", "--user", "--map-root-user", "sh", "-c", inside, "sh"])
    try:
        first = find_pid("sleep\0%s.1" % token)
        polls_correctly(agent, pidns_of(first), 3, lambda: os.kill(first, signal.SIGKILL))  # sh and two sleeps
    finally:
        agent.stop()
        try:
            os.kill(find_pid("sleep\0%s.2" % token, timeout=5), signal.SIGKILL)  # and its namespace ends
        except (AssertionError, ProcessLookupError):
            pass
    log = read_log(agent.process)
    assert log.count("process events are off") == 1 and "Operation not permitted" in log, log


def test_outside_the_initial_pid_namespace_the_subscription_times_out_and_the_agent_polls(tmp_path, nested):
    started = time.monotonic()
    agent = Agent(str(tmp_path / "state"), launcher=["unshare", "--pid", "--fork", "--kill-child=SIGTERM"])
    try:
        assert time.monotonic() - started < 20  # the subscription's timeout is 2s
        sleeper = nested.sleepers()["604"]
        polls_correctly(agent, nested.inner, 4, lambda: os.kill(sleeper, signal.SIGKILL))
    finally:
        agent.stop()
    log = read_log(agent.process)
    assert log.count("process events are off") == 1 and "did not acknowledge" in log, log


def test_switched_off_there_are_no_event_series(tmp_path):
    agent = Agent(str(tmp_path / "state"), extra_args=["--no-collector.proc_events"])
    try:
        assert not [name for name in agent.scrape() if name.startswith("nsfleet_proc_")]
    finally:
        agent.stop()


def test_agent_rss_stays_flat_over_100000_events(tmp_path):
    agent = Agent(str(tmp_path / "state"))
    subshells = "i=0; while [ $i -lt %d ]; do ( : ); i=$((i+1)); done"  # a fork and an exit each, no exec

    def churn(count):
        churner = subprocess.Popen(["sh", "-c", subshells % count])
        while churner.poll() is None:
            agent.scrape()
            time.sleep(0.5)
        return agent.scrape()

    try:
        churn(50000)  # warm up as long as we measure: dicts and the allocator reach their high-water marks
        baseline = rss_kib(agent.process.pid)
        before = agent.scrape()
        after = churn(50000)
        counted = sum(total(after, "nsfleet_proc_events_total", event=event)
                      - total(before, "nsfleet_proc_events_total", event=event) for event in ("fork", "exit"))
        lost = total(after, "nsfleet_proc_events_lost_total") - total(before, "nsfleet_proc_events_lost_total")
        assert counted + lost >= 100000
        assert rss_kib(agent.process.pid) - baseline <= 2048
    finally:
        agent.stop()


def test_trace_stops_quietly_when_its_reader_goes_away():
    trace = subprocess.Popen([AGENT, "trace", "--event", "exec"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert b"tracing process events" in trace.stderr.readline()
        subprocess.run(["/bin/true"], check=True)
        trace.stdout.readline()  # the header
        trace.stdout.readline()  # an event
        trace.stdout.close()  # like head -n 2 exiting
        deadline = time.monotonic() + 30
        while trace.poll() is None and time.monotonic() < deadline:
            subprocess.run(["/bin/true"], check=True)  # more events to write into the closed pipe
            time.sleep(0.05)
        assert trace.wait(timeout=5) == 0
        err = trace.stderr.read().decode()
        assert "Traceback" not in err and "Broken pipe" not in err and "Exception" not in err, err
    finally:
        if trace.poll() is None:
            trace.kill()
            trace.wait()


def test_trace_stops_cleanly_on_ctrl_c():
    trace = subprocess.Popen([AGENT, "trace"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert b"tracing process events" in trace.stderr.readline()
        subprocess.run(["/bin/true"], check=True)
        trace.send_signal(signal.SIGINT)
        out, err = trace.communicate(timeout=30)
        assert trace.returncode == 0 and b"Traceback" not in err, err
        assert out.startswith(b"TIME ")
    finally:
        if trace.poll() is None:
            trace.kill()
            trace.wait()
