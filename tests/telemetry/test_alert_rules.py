"""deploy/prometheus/alerts.yml: valid, every alert unit-tested with
`promtool test rules`, and every metric it reads exposed by /metrics."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from prometheus_client.metrics import MetricWrapperBase

from runs import metrics

PROMETHEUS_DIR = Path(settings.BASE_DIR) / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "alerts.yml"
RULE_TESTS = [PROMETHEUS_DIR / "alerts_test.yml", PROMETHEUS_DIR / "alerts_baseline_test.yml"]


def rules() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_the_rules_are_valid(promtool):
    done = subprocess.run(
        [promtool, "check", "rules", RULES], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_rule_unit_tests_pass(promtool):
    done = subprocess.run(
        [promtool, "test", "rules", *(path.name for path in RULE_TESTS)],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_firing_and_a_quiet_case():
    tests = [test for path in RULE_TESTS for test in yaml.safe_load(path.read_text())["tests"]]
    cases = [case for test in tests for case in test.get("alert_rule_test", [])]
    for rule in rules():
        if "alert" not in rule:
            continue
        mine = [case for case in cases if case["alertname"] == rule["alert"]]
        assert any(case["exp_alerts"] for case in mine), f"{rule['alert']} never fires in a test"
        assert any(not case["exp_alerts"] for case in mine), f"{rule['alert']} has no quiet case"


@pytest.mark.django_db
def test_every_metric_the_rules_read_is_exposed(client, settings):
    settings.REDIS_URL = ""
    page = client.get("/metrics").content.decode()
    exposed = set(re.findall(r"^# TYPE (importer_\w+) \w+", page, re.MULTILINE))
    # Labelled counters show once something was counted: take their definitions too.
    exposed |= {m._name for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)}
    exposed |= {name + "_total" for name in exposed}  # counters are read with their _total suffix
    read = {name for rule in rules() for name in re.findall(r"\bimporter_[a-z_]+", rule["expr"])}
    recorded = {rule["record"].split(":")[1] for rule in rules() if "record" in rule}
    assert read - recorded <= exposed, read - recorded - exposed
