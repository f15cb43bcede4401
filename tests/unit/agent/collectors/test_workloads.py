from scrape_helpers import make, scrape, value


def test_up_and_restarts(proc_root, state_dir):
    samples = scrape(make(proc_root, state_dir))
    # app's init is host PID 200 with the recorded start time; old has exited.
    assert value(samples, "nsfleet_workload_up", workload="app") == 1
    assert value(samples, "nsfleet_workload_up", workload="old") == 0
    assert value(samples, "nsfleet_workload_restarts_total", workload="app") == 3
