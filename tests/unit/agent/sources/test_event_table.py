import os
import shutil

from nsfleet_agent.sources.event_table import EventDrivenProcessTable
from nsfleet_agent.sources.proc_events import ProcEvents


class Changes(ProcEvents):
    """What events would have said: the changes are set by the test."""

    def __init__(self):
        ProcEvents.__init__(self)
        self.up = True
        self.next = (True, {})

    def take_changes(self):
        rescan, changed = self.next
        self.next = (False, {})
        return rescan, dict(changed)


def copy(proc_root, tmp_path):
    root = str(tmp_path / "proc")
    shutil.copytree(proc_root, root, symlinks=True)
    return root


def pids(scan):
    return sorted(process.pid for process in scan.processes)


def test_a_steady_scan_reads_only_what_events_named(proc_root, tmp_path):
    root = copy(proc_root, tmp_path)
    changes = Changes()
    table = EventDrivenProcessTable(changes, root, descriptor_budget=0)
    assert pids(table.scan()) == [1, 100, 200, 201, 202, 300, 301]
    assert table.full_scans == 1
    # A change events did not name is not seen: nothing lists /proc again.
    shutil.rmtree(os.path.join(root, "100"))
    assert 100 in pids(table.scan())
    # The process that events named is read again, and its exit seen.
    changes.next = (False, {100: False})
    assert 100 not in pids(table.scan())
    assert table.full_scans == 1
    table.close()


def test_a_new_process_is_learned_and_a_reused_pid_relearned(proc_root, tmp_path):
    root = copy(proc_root, tmp_path)
    changes = Changes()
    table = EventDrivenProcessTable(changes, root, descriptor_budget=0)
    table.scan()
    shutil.copytree(os.path.join(root, "301"), os.path.join(root, "302"), symlinks=True)
    with open(os.path.join(root, "201", "status"), "w") as status:
        status.write("Name:\tnew\nState:\tR\nPPid:\t200\nThreads:\t1\nNSpid:\t201\t9\n")
    with open(os.path.join(root, "201", "stat"), "w") as stat:
        stat.write("201 (new) R 200" + " 0" * 49 + "\n")
    changes.next = (False, {302: True, 201: True})
    processes = dict((process.pid, process) for process in table.scan().processes)
    assert 302 in processes and processes[201].nspid == (201, 9) and processes[201].state == "R"
    assert processes[201].comm == "new"
    table.close()


def test_zombies_are_read_again_until_reaped(proc_root, tmp_path):
    root = copy(proc_root, tmp_path)
    changes = Changes()
    table = EventDrivenProcessTable(changes, root, descriptor_budget=0)
    table.scan()
    assert table.zombies == {202}
    shutil.rmtree(os.path.join(root, "202"))  # reaped: no event says so
    assert 202 not in pids(table.scan())
    assert table.zombies == set()
    table.close()


def test_a_process_that_came_and_went_is_no_error(proc_root, tmp_path):
    changes = Changes()
    table = EventDrivenProcessTable(changes, copy(proc_root, tmp_path), descriptor_budget=0)
    table.scan()
    changes.next = (False, {4242: True})
    assert table.scan().errors == {}
    table.close()


def test_a_loss_or_the_safety_interval_lists_proc_again(proc_root, tmp_path):
    changes = Changes()
    table = EventDrivenProcessTable(changes, copy(proc_root, tmp_path), descriptor_budget=0, full_rescan_seconds=3600)
    table.scan()
    changes.next = (True, {})
    table.scan()
    assert table.full_scans == 2
    table.full_rescan_seconds = 0
    table.scan()
    assert table.full_scans == 3
    table.close()


def test_events_learn_namespaces_from_the_table(proc_root, tmp_path):
    changes = Changes()
    table = EventDrivenProcessTable(changes, copy(proc_root, tmp_path), descriptor_budget=0)
    table.scan()
    assert changes.attribution.cached_pidns(301) == table.known[301].pidns
    assert changes.attribution.cached_pidns(4242) is None
    table.close()


def test_processes_named_by_reread_are_read_on_every_scan(proc_root, tmp_path):
    root = copy(proc_root, tmp_path)
    changes = Changes()
    table = EventDrivenProcessTable(changes, root, descriptor_budget=0, reread=lambda process: process.pid == 201)
    table.scan()
    with open(os.path.join(root, "201", "stat"), "w") as stat:
        stat.write("201 (renamed) S 200" + " 0" * 49 + "\n")
    with open(os.path.join(root, "301", "stat"), "w") as stat:
        stat.write("301 (renamed) S 300" + " 0" * 49 + "\n")
    processes = dict((process.pid, process) for process in table.scan().processes)
    assert processes[201].comm == "renamed" and processes[301].comm != "renamed"
    table.close()


def test_with_a_max_age_each_scan_rereads_its_share_round_robin(proc_root, tmp_path, monkeypatch):
    root = copy(proc_root, tmp_path)
    changes = Changes()
    clock = [1000.0]
    monkeypatch.setattr("nsfleet_agent.sources.event_table.time.monotonic", lambda: clock[0])
    read = []
    table = EventDrivenProcessTable(changes, root, descriptor_budget=0, full_rescan_seconds=10 ** 9,
                                    reread=lambda process: read.append(process.pid) or True, reread_max_age=70)
    table.scan()  # the full listing
    table.scan()  # a first steady scan re-reads all (but the zombie 202, which every scan reads anyway)
    assert sorted(read) == [1, 100, 200, 201, 300, 301]
    seen = []
    for _scan in range(7):  # scraped every 10s against a 70s bound: a seventh of them each time
        del read[:]
        clock[0] += 10
        table.scan()
        seen += read
        assert len(read) <= 1
    assert sorted(seen) == [1, 100, 200, 201, 300, 301]
    table.close()
