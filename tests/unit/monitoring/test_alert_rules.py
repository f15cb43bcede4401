"""The Prometheus alert rules: promtool check rules is clean and promtool test rules passes."""

import os
import shutil
import subprocess

import pytest
import yaml

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RULES_DIR = os.path.join(TOP, "monitoring", "prometheus")
RULES = os.path.join(RULES_DIR, "nsfleet-alerts.yml")
TESTS = os.path.join(RULES_DIR, "nsfleet-alerts.test.yml")


@pytest.fixture(scope="module")
def promtool():
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: run 'make system-packages' (Debian package prometheus)")
    return path


def test_promtool_check_rules_is_clean(promtool):
    result = subprocess.run([promtool, "check", "rules", RULES], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "WARNING" not in result.stdout + result.stderr


def test_promtool_test_rules_passes(promtool):
    result = subprocess.run([promtool, "test", "rules", os.path.basename(TESTS)], cwd=RULES_DIR,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_not_firing():
    with open(RULES) as rules_file:
        alerts = [rule["alert"] for group in yaml.safe_load(rules_file)["groups"] for rule in group["rules"]]
    with open(TESTS) as tests_file:
        cases = [case for test in yaml.safe_load(tests_file)["tests"] for case in test["alert_rule_test"]]
    for alert in alerts:
        outcomes = [bool(case["exp_alerts"]) for case in cases if case["alertname"] == alert]
        assert True in outcomes and False in outcomes, "%s needs a firing and a not-firing case" % alert
