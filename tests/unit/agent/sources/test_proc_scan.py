import os
import shutil

from nsfleet_agent.sources.proc_scan import ProcessTable

from fixture_tree import CHILD_NS, GRANDCHILD_NS, HOST_NS


def by_pid(scan):
    return dict((process.pid, process) for process in scan.processes)


def test_scan_reads_namespace_nspid_state_and_threads(proc_root):
    table = ProcessTable(proc_root)
    scan = table.scan()
    processes = by_pid(scan)
    assert scan.own_pidns == HOST_NS
    assert sorted(processes) == [1, 100, 200, 201, 202, 300, 301]
    assert processes[201].comm == "my (odd) app"
    assert (processes[201].pidns, processes[201].nspid, processes[201].threads) == (CHILD_NS, (201, 2), 4)
    assert processes[301].nspid == (301, 5, 2) and processes[301].ns_pid == 2
    assert processes[301].pidns == GRANDCHILD_NS
    assert processes[202].state == "Z"
    assert processes[100].nspid == (100,)  # host namespace: no status read needed
    assert (processes[200].start_time, processes[301].start_time) == (1000, 2001)
    assert scan.boot_id == "0f6f3e0a-5b4c-4f7e-9d1e-2a3b4c5d6e7f"
    assert scan.process(301) is processes[301] and scan.process(400) is None
    table.close()


def test_a_process_that_vanishes_mid_scan_is_skipped_and_counted(proc_root):
    table = ProcessTable(proc_root)
    scan = table.scan()
    assert 400 not in by_pid(scan)
    assert scan.errors == {"vanished": 1}
    table.close()


def test_known_processes_are_not_read_again(tmp_path, proc_root):
    root = str(tmp_path / "proc")
    shutil.copytree(proc_root, root, symlinks=True)
    table = ProcessTable(root, descriptor_budget=0)
    table.scan()
    os.unlink(os.path.join(root, "301", "status"))  # NSpid is remembered, not re-read
    assert by_pid(table.scan())[301].nspid == (301, 5, 2)
    table.close()


def test_exited_processes_are_forgotten_and_their_descriptors_closed(tmp_path, proc_root):
    root = str(tmp_path / "proc")
    shutil.copytree(proc_root, root, symlinks=True)
    table = ProcessTable(root)
    table.scan()
    held = table.held
    assert held == len(table.known)
    shutil.rmtree(os.path.join(root, "301"))
    scan = table.scan()
    assert 301 not in by_pid(scan) and 301 not in table.known
    assert table.held == held - 1
    table.close()
    assert table.held == 0


def test_a_reused_pid_is_read_afresh(tmp_path, proc_root):
    root = str(tmp_path / "proc")
    shutil.copytree(proc_root, root, symlinks=True)
    table = ProcessTable(root, descriptor_budget=0)
    table.scan()
    # PID 301 exits; a new process gets PID 301 in the child namespace (a new /proc/301 inode,
    # made before the old one goes so the filesystem cannot hand out the same inode).
    shutil.copytree(os.path.join(root, "201"), os.path.join(root, "new"), symlinks=True)
    shutil.rmtree(os.path.join(root, "301"))
    os.rename(os.path.join(root, "new"), os.path.join(root, "301"))
    with open(os.path.join(root, "301", "status"), "w") as status:
        status.write("Name:\tnew\nState:\tS (sleeping)\nThreads:\t1\nNSpid:\t301\t9\n")
    process = by_pid(table.scan())[301]
    assert (process.pidns, process.nspid) == (CHILD_NS, (301, 9))
    table.close()


def test_descriptor_budget_is_respected(proc_root):
    table = ProcessTable(proc_root, descriptor_budget=2)
    table.scan()
    table.scan()
    assert table.held == 2
    assert len(table.scan().processes) == 7  # the rest are read by open/read/close
    table.close()


def test_an_event_source_can_learn_and_forget_between_scans(proc_root):
    table = ProcessTable(proc_root)
    process = table.learn(301)
    assert (process.pidns, process.nspid, process.start_time) == (GRANDCHILD_NS, (301, 5, 2), 2001)
    assert table.known[301] is process and table.held == 1
    table.forget(301)
    assert 301 not in table.known and table.held == 0
    table.close()


def test_a_tree_without_boot_id_has_none(tmp_path, proc_root):
    root = str(tmp_path / "proc")
    shutil.copytree(proc_root, root, symlinks=True)
    shutil.rmtree(os.path.join(root, "sys"))
    assert ProcessTable(root).scan().boot_id is None
