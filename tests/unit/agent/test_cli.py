"""Start-up decisions of the command line."""

import resource

import pytest

from nsfleet_agent import cli


def test_the_open_file_limit_is_raised_by_start_up_not_by_the_scan(proc_root, state_dir, monkeypatch):
    calls = []
    monkeypatch.setattr(resource, "setrlimit", lambda *args: calls.append(args))
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, 4096))
    cli.build_exporter(cli.build_parser().parse_args(["--path.procfs", proc_root, "--path.state", state_dir]))
    assert calls == []
    assert cli.raise_open_file_limit() == 4096
    assert calls == [(resource.RLIMIT_NOFILE, (4096, 4096))]


def test_a_limit_that_cannot_be_raised_is_kept(monkeypatch):
    def refuse(*_args):
        raise ValueError("not allowed")

    monkeypatch.setattr(resource, "setrlimit", refuse)
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, 4096))
    assert cli.raise_open_file_limit() == 1024


def test_a_negative_mapping_cap_is_refused():
    with pytest.raises(ValueError, match="max-series"):
        cli.build_exporter(cli.build_parser().parse_args(["--collector.pid-mapping.max-series", "-1"]))


def test_a_negative_stat_max_age_is_refused():
    with pytest.raises(ValueError, match="stat-max-age"):
        cli.build_exporter(cli.build_parser().parse_args(["--collector.proc_events.stat-max-age", "-1"]))
