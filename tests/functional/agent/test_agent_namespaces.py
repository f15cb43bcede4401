"""Counts, nesting and mappings of real namespaces, checked against lsns and NSpid."""

import json
import os
import subprocess
import threading
import time

from agent_process import pidns_of


def values(samples, name, pidns):
    return [v for labels, v in samples.get(name, []) if labels.get("pidns") == pidns]


def test_counts_equal_lsns(agent, nested):
    samples = agent.scrape()
    listed = json.loads(subprocess.run(["lsns", "-t", "pid", "-J", "-o", "NS,NPROCS"], capture_output=True,
                                       text=True, check=True).stdout)["namespaces"]
    by_ns = dict((str(entry["ns"]), int(entry["nprocs"])) for entry in listed)
    for pidns in (nested.outer, nested.inner):
        assert values(samples, "nsfleet_pidns_processes", pidns) == [by_ns[pidns]], pidns
    assert values(samples, "nsfleet_pidns_processes", nested.outer) == [4]  # sh, 2 sleeps, unshare
    assert values(samples, "nsfleet_pidns_processes", nested.inner) == [4]  # sh, 3 sleeps


def test_nesting(agent, nested):
    info = dict((labels["pidns"], labels) for labels, _v in agent.scrape()["nsfleet_pidns_info"])
    assert info[nested.inner]["parent_pidns"] == nested.outer
    assert int(info[nested.inner]["level"]) == int(info[nested.outer]["level"]) + 1
    host = info[nested.outer]["parent_pidns"]
    assert info[host]["level"] == "0" and info[host]["parent_pidns"] == ""
    assert pidns_of(int(info[nested.inner]["init_host_pid"])) == nested.inner


def test_every_mapping_series_equals_nspid(agent, nested):
    mapping = agent.scrape()["nsfleet_pid_mapping"]
    checked = 0
    for labels, _v in mapping:
        try:
            status = open("/proc/%s/status" % labels["host_pid"]).read()
        except OSError:
            continue  # exited since the scrape
        nspid = [line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")][0]
        assert labels["ns_pid"] == nspid[-1], labels
        assert labels["pidns"] == pidns_of(int(labels["host_pid"]))
        checked += 1
    ours = [labels for labels, _v in mapping if labels["pidns"] in (nested.outer, nested.inner)]
    assert len(ours) == 8 and checked >= 8
    assert sorted(int(labels["ns_pid"]) for labels in ours if labels["pidns"] == nested.inner) == [1, 2, 3, 4]
    host = agent.scrape()["nsfleet_pidns_info"]
    host_ns = [labels["pidns"] for labels, _v in host if labels["level"] == "0"][0]
    assert not [labels for labels, _v in mapping if labels["pidns"] == host_ns]


def members(pidns_inodes):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if pidns_of(int(pid)) in pidns_inodes:
                    found.append(pid)
            except OSError:
                continue
    return found


def test_a_killed_namespace_vanishes_on_the_next_scrape(agent, nested):
    before = agent.scrape()
    assert values(before, "nsfleet_pidns_processes", nested.inner)
    nested.kill()
    # Until its parent reaps it, a dead init is a zombie still in its namespace; wait for the kernel.
    deadline = time.monotonic() + 30
    while members((nested.inner, nested.outer)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not members((nested.inner, nested.outer))
    after = agent.scrape()
    for family in ("nsfleet_pidns_processes", "nsfleet_pidns_threads", "nsfleet_pidns_zombies",
                   "nsfleet_pidns_info", "nsfleet_pid_mapping"):
        assert values(after, family, nested.inner) == [] and values(after, family, nested.outer) == [], family


def test_no_failed_scrape_during_a_burst_of_short_lived_processes(agent, nested):
    burst = ("i=0; while [ $i -lt 1500 ]; do /bin/true & i=$((i+1)); "
             "[ $((i % 50)) -eq 0 ] && wait; done; wait")
    generators = [subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", burst])
                  for _generator in range(2)]
    outcomes = []

    def scrape_until_done():
        deadline = time.monotonic() + 120
        while any(generator.poll() is None for generator in generators) and time.monotonic() < deadline:
            try:
                status, body = agent.get()
                outcomes.append(status if "nsfleet_pidns_processes" in body else "incomplete")
            except OSError as error:
                outcomes.append(repr(error))

    scrapers = [threading.Thread(target=scrape_until_done) for _scraper in range(2)]
    for scraper in scrapers:
        scraper.start()
    for scraper in scrapers:
        scraper.join(150)
    for generator in generators:
        assert generator.wait(timeout=30) == 0
    assert outcomes and set(outcomes) == {200}, [o for o in outcomes if o != 200][:5]


def test_promtool_finds_nothing_to_report(agent, nested):
    body = agent.get()[1]
    result = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True,
                            check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_healthz_and_landing_page(agent):
    assert agent.get("/healthz") == (200, "ok\n")
    assert "/metrics" in agent.get("/")[1]
