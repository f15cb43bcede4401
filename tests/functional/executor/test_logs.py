"""``nsfleet logs`` and the log's bound: a chatty workload cannot fill the disk, and its output can be read back."""

import os
import subprocess
import time

from nsfleet_cli import NSFLEET, wait_for

CHATTY = "i=0; while true; do i=$((i+1)); echo line $i; done"


def log_files(nsfleet, name):
    directory = os.path.join(nsfleet.state_dir, "var", "log", "nsfleet")
    return sorted(entry for entry in os.listdir(directory) if entry.startswith(name + ".log"))


def test_a_chatty_workload_stays_within_its_bound(nsfleet):
    nsfleet.detach("chatty", "/bin/sh", "-c", CHATTY, options=("--log-max-size", "64k", "--log-max-files", "3"))
    assert wait_for(lambda: len(log_files(nsfleet, "chatty")) == 3, timeout=20)
    time.sleep(2)  # several more rotations
    directory = os.path.join(nsfleet.state_dir, "var", "log", "nsfleet")
    kept = ["chatty.log", "chatty.log.1", "chatty.log.2"]

    def all_three_and_no_more():
        found = log_files(nsfleet, "chatty")
        assert set(found) <= set(kept), found  # never a fourth file
        return found == kept  # a listing may fall between a rotation's two renames: look again

    assert wait_for(all_three_and_no_more)
    sizes = [os.path.getsize(os.path.join(directory, entry)) for entry in log_files(nsfleet, "chatty")]
    # The supervisor looks every second: a file may pass the bound by a second's output, never grow without end.
    assert all(size < 64 * 1024 * 200 for size in sizes), sizes
    # What is kept reads back in order, the newest last.
    # Complete lines only: the current log is read up to its size when asked, which may end mid-line.
    numbers = [int(line.split()[1]) for line in nsfleet("logs", "chatty").stdout.splitlines(keepends=True)
               if line.endswith("\n") and line.count(" ") == 1]
    assert numbers == sorted(numbers) and numbers[0] > 1
    last = nsfleet("logs", "--tail", "2", "chatty").stdout.splitlines()
    assert len(last) == 2
    nsfleet("rm", "--force", "chatty")
    assert log_files(nsfleet, "chatty") == []


def test_tail_and_follow_until_the_workload_stops(nsfleet):
    nsfleet.detach("talker", "/bin/sh", "-c", "echo one; echo two; sleep 2; echo three; sleep 1")
    assert wait_for(lambda: "two" in nsfleet("logs", "talker").stdout)
    assert nsfleet("logs", "--tail", "1", "talker").stdout == "two\n"
    started = time.monotonic()
    followed = nsfleet("logs", "--follow", "--tail", "1", "talker", timeout=30)
    assert followed.stdout == "two\nthree\n"
    assert time.monotonic() - started < 20
    assert nsfleet.json("logs", "--json", "talker")["log_lines"] == ["one", "two", "three"]


def test_follow_ends_when_its_reader_goes(nsfleet):
    nsfleet.detach("endless", "/bin/sh", "-c", CHATTY)
    reader = subprocess.Popen("%s --state-dir %s logs --follow endless | head -1" % (NSFLEET, nsfleet.state_dir),
                              shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = reader.communicate(timeout=30)
    assert out.startswith(b"line ") and b"Traceback" not in err and b"Broken pipe" not in err


def test_bad_input_and_missing_workloads(nsfleet):
    assert nsfleet("logs", "--tail", "x", "anything", check=False).returncode == 2
    assert nsfleet("logs", "ghost", check=False).returncode == 3
    assert nsfleet("logs", "../etc", check=False).returncode == 2
    bad = nsfleet("run", "--detach", "--name", "tiny", "--log-max-size", "1", "--", "/bin/true", check=False)
    assert bad.returncode == 2 and "log_max_size" in bad.stderr
