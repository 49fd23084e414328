"""deploy/grafana/importer-dashboard.json: importable JSON whose queries are
valid PromQL over metrics the importer exposes."""

import json
import re
import subprocess
from pathlib import Path

import yaml
from django.conf import settings
from prometheus_client.metrics import MetricWrapperBase

from runs import metrics

DASHBOARD = Path(settings.BASE_DIR) / "deploy" / "grafana" / "importer-dashboard.json"
# Names computed at scrape time by runs.scrape.ImporterCollector.
SCRAPE_TIME = {
    "importer_runs_active",
    "importer_runs_oldest_age_seconds",
    "importer_violations_open",
    "importer_source_last_success_timestamp_seconds",
    "importer_rq_queue_jobs",
    "importer_rq_oldest_job_age_seconds",
    "importer_telemetry_up",
}


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def queries() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def test_the_dashboard_shows_what_operators_asked_for():
    board = dashboard()
    assert board["uid"] == "importer-overview"
    titles = " | ".join(p["title"] for p in board["panels"]).lower()
    for topic in (
        "runs finished",
        "rows/s",
        "p50 / p95 / p99",
        "quarantine rate",
        "remediation success",
        "queued",
        "open violations",
    ):
        assert topic in titles, topic
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))


def test_every_query_reads_a_metric_the_importer_exposes():
    defined = {m._name for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)}
    known = SCRAPE_TIME | {
        n + suffix for n in defined for suffix in ("_total", "_bucket", "_count", "_sum")
    }
    for expr in queries():
        for name in re.findall(r"\bimporter_[a-z_]+", expr):
            assert name in known, (name, expr)


def test_every_query_is_valid_promql(promtool, tmp_path):
    """promtool checks PromQL inside rule files: each query becomes a
    recording rule, with Grafana's variables replaced by values."""
    substitutions = {"$__rate_interval": "5m", "$target": ".*", "$source": ".*"}
    rules = []
    for index, expr in enumerate(queries()):
        for variable, value in substitutions.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run(
        [promtool, "check", "rules", path], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
