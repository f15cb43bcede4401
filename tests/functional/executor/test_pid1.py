"""PID 1, /proc, zombies and exit codes inside a real PID namespace."""

import signal
import sys

import pytest

from nsfleet_cli import wait_for

PROBE = ("import os; print(os.getpid(), os.getppid(), os.readlink('/proc/self'), "
         "sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")


def test_without_init_the_command_is_pid_1_and_sees_only_its_namespace(nsfleet):
    out = nsfleet("run", "--rm", "--no-init", "--", sys.executable, "-I", "-c", PROBE).stdout.split(None, 3)
    assert out[:3] == ["1", "0", "1"]
    assert out[3].strip() == "[1]"


def test_with_init_the_command_is_pid_2_under_init(nsfleet):
    out = nsfleet("run", "--rm", "--", sys.executable, "-I", "-c", PROBE).stdout.split(None, 3)
    assert out[:3] == ["2", "1", "2"]
    assert out[3].strip() == "[1, 2]"


def test_proc_of_the_host_is_untouched(nsfleet):
    import os
    before = os.stat("/proc/self").st_dev
    nsfleet("run", "--rm", "--", "/bin/true")
    assert os.stat("/proc/self").st_dev == before and os.path.exists("/proc/1/stat")


def test_hundred_orphans_leave_no_zombie(nsfleet):
    script = 'for i in $(seq 100); do sh -c "sleep 0.2 &"; done; sleep 60'
    workload = nsfleet.detach("orphans", "/bin/sh", "-c", script)
    assert workload["status"] == "running"

    def settled():
        processes = nsfleet.inspect("orphans")["processes"]
        return processes if len(processes) == 3 else None

    processes = wait_for(settled, timeout=15)
    assert processes, nsfleet.inspect("orphans")["processes"]
    assert [p for p in processes if p["state"] == "Z"] == []
    assert sorted(p["comm"] for p in processes) == ["nsfleet-init", "sh", "sleep"]


@pytest.mark.parametrize("init", [True, False])
def test_every_exit_code_comes_back(nsfleet, init):
    options = [] if init else ["--no-init"]
    codes = range(256) if init else (0, 1, 2, 42, 127, 128, 200, 255)
    for code in codes:
        result = nsfleet("run", "--rm", *options, "--", "/bin/sh", "-c", "exit %d" % code, check=False)
        assert result.returncode == code, (code, result.stderr)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL, signal.SIGUSR1, signal.SIGSEGV, signal.SIGINT])
def test_death_by_signal_is_128_plus_n(nsfleet, signum):
    result = nsfleet("run", "--rm", "--", "/bin/sh", "-c", "kill -%d $$" % signum, check=False)
    assert result.returncode == 128 + signum


def test_exit_code_is_recorded_for_a_detached_workload(nsfleet):
    nsfleet.detach("quits", "/bin/sh", "-c", "sleep 0.2; exit 9")
    assert wait_for(lambda: nsfleet.inspect("quits")["status"] == "exited")
    workload = nsfleet.inspect("quits")
    assert workload["exit_code"] == 9 and workload["init_host_pid"] is None


def test_command_that_cannot_exec_reports_why(nsfleet, tmp_path):
    script = tmp_path / "bad-interpreter"
    script.write_text("#!/no/such/interpreter\n")
    script.chmod(0o755)
    result = nsfleet("run", "--rm", "--", str(script), check=False)
    assert result.returncode == 127 and "No such file" in result.stderr
