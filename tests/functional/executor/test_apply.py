"""nsfleet apply and restore with the real executor: a host's list of workloads in one start, and reboots."""

import json
import os
import shutil
import signal
import subprocess

import pytest
from nsfleet_cli import NSFLEET, Nsfleet, alive, wait_for

SLEEP = ["sleep", "600"]


def entry(name, **options):
    return dict({"name": name, "command": SLEEP, "stop_timeout": 1}, **options)


def apply(nsfleet, entries, *flags, check=True):
    result = nsfleet("apply", "--specs", "-", *flags, stdin=json.dumps(entries), check=False, timeout=120)
    assert result.returncode in (0, 1), result.stderr
    if check:
        assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result


def actions(outcome):
    return dict((result["name"], result["action"]) for result in outcome["results"])


def statuses(nsfleet):
    return dict((workload["name"], workload["status"]) for workload in nsfleet.json("ls", "--json"))


def test_a_list_is_converged_then_left_alone(nsfleet):
    prefix = "ap"
    wanted = [entry("%s-%d" % (prefix, index)) for index in range(6)]
    wanted[4]["state"] = "stopped"
    wanted[5]["state"] = "present"
    wanted.append({"name": prefix + "-never", "state": "absent"})  # absent already: nothing to do
    outcome, _result = apply(nsfleet, wanted)
    assert outcome["changed"] is True and outcome["failed"] == []
    assert list(actions(outcome).values()) == ["create"] * 6 + ["none"]
    assert statuses(nsfleet) == dict([(item["name"], "running") for item in wanted[:4]] + [
        (wanted[4]["name"], "created"), (wanted[5]["name"], "created")])
    running = outcome["results"][0]["workload"]
    assert running["status"] == "running" and alive(running["init_host_pid"])
    # The repeat changes nothing, and in check mode says so too.
    for flags in ((), ("--check",)):
        again, _result = apply(nsfleet, wanted, *flags)
        assert again["changed"] is False and set(actions(again).values()) == {"none"}
    assert nsfleet.inspect(wanted[0]["name"])["init_host_pid"] == running["init_host_pid"]


def test_check_mode_reports_the_drift_and_changes_nothing(nsfleet):
    prefix = "ck"
    wanted = [entry(prefix + "-keep"), entry(prefix + "-change"), entry(prefix + "-stop"), entry(prefix + "-gone")]
    apply(nsfleet, wanted)
    before = dict((workload["name"], workload) for workload in nsfleet.json("ls", "--json"))
    drifted = [entry(prefix + "-keep"), entry(prefix + "-change", command=["sleep", "601"]),
               entry(prefix + "-stop", state="stopped"), entry(prefix + "-gone", state="absent"),
               entry(prefix + "-new")]
    predicted, _result = apply(nsfleet, drifted, "--check")
    assert actions(predicted) == {prefix + "-keep": "none", prefix + "-change": "recreate", prefix + "-stop": "stop",
                                  prefix + "-gone": "remove", prefix + "-new": "create"}
    assert dict((workload["name"], workload) for workload in nsfleet.json("ls", "--json")) == before
    assert not os.path.exists(os.path.join(nsfleet.state_dir, "var", "lib", "nsfleet", prefix + "-new"))
    done, _result = apply(nsfleet, drifted)
    assert actions(done) == actions(predicted)  # check mode was truthful
    assert statuses(nsfleet) == {prefix + "-keep": "running", prefix + "-change": "running",
                                 prefix + "-stop": "stopped", prefix + "-new": "running"}


def test_a_label_change_alone_keeps_the_workload_running(nsfleet):
    name = "lb"
    first, _result = apply(nsfleet, [entry(name, labels={"tier": "web"})])
    init_pid = first["results"][0]["workload"]["init_host_pid"]
    relabelled, _result = apply(nsfleet, [entry(name, labels={"tier": "db", "team": "a"})])
    assert actions(relabelled) == {name: "update"} and relabelled["changed"] is True
    workload = nsfleet.inspect(name)
    assert workload["init_host_pid"] == init_pid and workload["status"] == "running"
    assert workload["spec"]["labels"] == {"tier": "db", "team": "a"}
    assert workload["spec_hash"] == first["results"][0]["workload"]["spec_hash"]


def test_prune_removes_what_is_not_listed_within_the_selector(nsfleet):
    prefix = "pr"
    mine = [entry("%s-mine-%d" % (prefix, index), labels={"owner": "a"}) for index in range(3)]
    theirs = [entry("%s-theirs-%d" % (prefix, index), labels={"owner": "b"}) for index in range(2)]
    apply(nsfleet, mine + theirs)
    # Scoped by a selector: only owner=a workloads not in the list go.
    pruned, _result = apply(nsfleet, mine[:1], "--prune", "--selector", "owner=a")
    assert actions(pruned) == {mine[0]["name"]: "none", mine[1]["name"]: "remove", mine[2]["name"]: "remove"}
    assert all(result["msg"] == "pruned" for result in pruned["results"][1:])
    assert sorted(statuses(nsfleet)) == sorted([mine[0]["name"]] + [item["name"] for item in theirs])
    again, _result = apply(nsfleet, mine[:1], "--prune", "--selector", "owner=a")
    assert again["changed"] is False
    # Without a selector, every nsfleet workload not in the list goes.
    everything, _result = apply(nsfleet, theirs[:1], "--prune")
    assert sorted(name for name, action in actions(everything).items() if action == "remove") == sorted(
        [mine[0]["name"], theirs[1]["name"]])
    assert list(statuses(nsfleet)) == [theirs[0]["name"]]


def test_a_selector_needs_prune(nsfleet):
    result = nsfleet("apply", "--specs", "-", "--selector", "a=b", stdin="[]", check=False)
    assert result.returncode == 2 and "--selector" in result.stderr


def test_one_failing_workload_in_twenty_is_reported_and_leaves_nothing(nsfleet):
    prefix = "fl"
    wanted = [entry("%s-%02d" % (prefix, index)) for index in range(20)]
    # Passes validation, fails at start: the kernel refuses the tmpfs size.
    wanted[7]["mounts"] = [{"type": "tmpfs", "dest": "/tmp", "options": "size=nonsense"}]
    outcome, result = apply(nsfleet, wanted, check=False)
    assert result.returncode == 1
    assert outcome["failed"] == [wanted[7]["name"]]
    failure = outcome["results"][7]
    assert failure["failed"] is True and "size" in failure["msg"] or "Invalid argument" in failure["msg"]
    assert wanted[7]["name"] in result.stderr
    found = statuses(nsfleet)
    assert wanted[7]["name"] not in found  # nothing half-made
    assert found == dict((item["name"], "running") for item in wanted if item is not wanted[7])
    assert not os.path.exists(os.path.join(nsfleet.state_dir, "run", "nsfleet", wanted[7]["name"] + ".lock"))


def test_an_invalid_spec_fails_that_workload_naming_the_parameter(nsfleet):
    prefix = "iv"
    outcome, result = apply(nsfleet, [entry(prefix + "-ok"), entry(prefix + "-bad", command=["no-such-program"])],
                            check=False)
    assert result.returncode == 1 and outcome["failed"] == [prefix + "-bad"]
    assert outcome["results"][1]["msg"].startswith("command:")
    assert statuses(nsfleet) == {prefix + "-ok": "running"}


def test_a_workload_starts_after_the_one_whose_namespace_it_joins(nsfleet):
    prefix = "dp"
    # The sidecar comes first in the list; it still starts second.
    wanted = [entry(prefix + "-sidecar", namespaces={"pid": "workload:%s-web" % prefix}), entry(prefix + "-web")]
    outcome, _result = apply(nsfleet, wanted)
    sidecar, web = (result["workload"] for result in outcome["results"])
    assert sidecar["status"] == web["status"] == "running"
    assert sidecar["namespaces"]["pid"] == web["namespaces"]["pid"]
    # What another workload joins is not pruned from under it; the joiner is still converged.
    refused, result = apply(nsfleet, [entry(prefix + "-sidecar", namespaces={"pid": "workload:%s-web" % prefix},
                                            labels={"role": "sidecar"})], "--prune", check=False)
    assert result.returncode == 1 and refused["failed"] == [prefix + "-web"]
    assert "join" in refused["results"][1]["msg"] and refused["results"][1]["changed"] is False
    assert refused["results"][0]["action"] == "update" and not refused["results"][0]["failed"]
    assert statuses(nsfleet) == {prefix + "-sidecar": "running", prefix + "-web": "running"}


def test_bad_documents_are_refused_before_anything(nsfleet):
    for document, param in (("{}", "--specs"), ('[{"name": "a"}, {"name": "a"}]', "workloads[1].name"),
                            ("not json", "--specs")):
        result = nsfleet("apply", "--specs", "-", stdin=document, check=False)
        assert result.returncode == 2 and param in result.stderr
    assert nsfleet.json("ls", "--json") == []


def kill_like_a_power_cut(nsfleet, names):
    """Every process of these workloads dies at once, supervisors first, as when the host goes down."""
    for name in names:
        state = nsfleet.state(name)
        for role in ("supervisor", "init"):
            if state.get(role):
                try:
                    os.kill(state[role]["pid"], signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if state.get("init"):
            assert wait_for(lambda: not alive(state["init"]["pid"], state["init"]["start_time"]))


def test_a_simulated_reboot(nsfleet, monkeypatch):
    """Boot one runs four workloads; the host "reboots": another boot id and a fresh /run under the state root."""
    prefix = "rb"
    monkeypatch.setenv("NSFLEET_BOOT_ID", "boot-one-" + prefix)
    wanted = [entry(prefix + "-started"), entry(prefix + "-stopped", state="stopped"),
              entry(prefix + "-always", state="present", restart_policy="always"), entry(prefix + "-again")]
    apply(nsfleet, wanted)
    names = [item["name"] for item in wanted]
    init_pid = nsfleet.inspect(prefix + "-started")["init_host_pid"]
    try:
        # Another boot, with the old processes (deliberately) still there and /run kept: their PIDs mean
        # nothing now, so nothing is reported running, whatever process holds the PID.
        monkeypatch.setenv("NSFLEET_BOOT_ID", "boot-two-" + prefix)
        assert alive(init_pid)
        workload = nsfleet.inspect(prefix + "-started")
        assert (workload["status"], workload["init_host_pid"], workload["processes"]) == ("stale", None, [])
        monkeypatch.setenv("NSFLEET_BOOT_ID", "boot-one-" + prefix)
        kill_like_a_power_cut(nsfleet, names)
        shutil.rmtree(os.path.join(nsfleet.state_dir, "run"))
        monkeypatch.setenv("NSFLEET_BOOT_ID", "boot-two-" + prefix)
        assert statuses(nsfleet) == {prefix + "-started": "stale", prefix + "-stopped": "stopped",
                                     prefix + "-always": "created", prefix + "-again": "stale"}
        # state: started after the reboot starts it from its stored spec.
        again, _result = apply(nsfleet, [{"name": prefix + "-again", "state": "started"}])
        assert actions(again) == {prefix + "-again": "start"}
        # restore starts what was asked to run, and what always restarts; the stopped one stays stopped.
        restored = nsfleet.json("restore")
        assert actions(restored) == {prefix + "-started": "start", prefix + "-always": "start",
                                     prefix + "-again": "none"}
        assert statuses(nsfleet) == {prefix + "-started": "running", prefix + "-stopped": "stopped",
                                     prefix + "-always": "running", prefix + "-again": "running"}
        assert nsfleet.state(prefix + "-started")["boot_id"] == "boot-two-" + prefix
        assert nsfleet.json("restore")["changed"] is False
    finally:
        nsfleet("rm", "--force", *names, check=False)  # under the boot id its workloads now run in


def test_the_restore_unit_is_rendered_for_this_executor_and_verifies(nsfleet, tmp_path):
    systemd_analyze = shutil.which("systemd-analyze")
    if systemd_analyze is None:
        pytest.fail("systemd-analyze is missing: run 'make system-packages'")
    os.makedirs(os.path.join(nsfleet.state_dir, "var", "lib", "nsfleet"), exist_ok=True)
    unit = nsfleet("restore", "--systemd-unit").stdout
    assert "ExecStart=%s --state-dir %s restore\n" % (NSFLEET, nsfleet.state_dir) in unit
    assert "KillMode=process" in unit and "RemainAfterExit=yes" in unit
    path = tmp_path / "nsfleet-restore.service"
    path.write_text(unit)
    verified = subprocess.run([systemd_analyze, "verify", str(path)], capture_output=True, text=True, check=False)
    assert verified.returncode == 0 and "nsfleet-restore" not in verified.stderr, verified.stderr
    # Printing the unit restores nothing.
    assert not os.path.exists(os.path.join(nsfleet.state_dir, "run"))


def test_a_state_root_a_unit_cannot_hold_is_refused(tmp_path):
    odd = Nsfleet(str(tmp_path / "with space"))
    result = odd("restore", "--systemd-unit", check=False)
    assert result.returncode == 2 and "--systemd-unit" in result.stderr


def test_run_takes_labels_that_apply_then_prunes_by(nsfleet):
    workload = nsfleet.detach("lbl-run", "sleep", "600", options=("--label", "owner=ops", "-l", "shift=night"))
    assert workload["spec"]["labels"] == {"owner": "ops", "shift": "night"}
    refused = nsfleet("run", "--label", "owner", "--", "true", check=False)
    assert refused.returncode == 2 and "--label" in refused.stderr
    pruned, _result = apply(nsfleet, [], "--prune", "--selector", "owner=ops")
    assert actions(pruned) == {"lbl-run": "remove"} and statuses(nsfleet) == {}


def test_a_failed_recreate_leaves_nothing_and_says_so(nsfleet):
    apply(nsfleet, [entry("rc")])
    # Valid, but no start can succeed: init cannot fork the command under a limit of one process.
    broken = entry("rc", limits={"pids": 1})
    outcome, result = apply(nsfleet, [broken], check=False)
    assert result.returncode == 1
    failure = outcome["results"][0]
    assert (failure["action"], failure["failed"], failure["changed"]) == ("recreate", True, True)
    assert failure["workload"] is None and failure["before"]["status"] == "running"
    assert statuses(nsfleet) == {}
