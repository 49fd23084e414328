import pytest
from django.core.management import call_command
from django.db.models import F

from dq.models import Violation
from ingest import registry
from runs.models import ImportRun

pytestmark = pytest.mark.django_db


def test_seed_runs_makes_realistic_history():
    call_command("seed_runs", count=1200, batch_size=500, days=30)
    runs = ImportRun.objects.all()
    assert runs.count() == 1200
    statuses = set(runs.values_list("status", flat=True))
    assert {"succeeded", "partial", "failed", "cancelled"} <= statuses
    assert set(runs.values_list("kind", flat=True)) == {"upload", "replay", "remediation"}
    assert runs.filter(dry_run=True).exists() and runs.filter(dry_run=False).exists()
    assert set(runs.values_list("target", flat=True)) == set(registry.names())
    assert runs.values("source").distinct().count() == 5
    days = {created.date() for created in runs.values_list("created_at", flat=True)}
    assert len(days) > 20  # spread over the month, not stamped now
    finished = runs.filter(status__in=["succeeded", "partial", "cancelled"])
    invariant = F("inserted") + F("updated") + F("unchanged") + F("skipped") + F("quarantined")
    assert not finished.exclude(rows_total=invariant).exists()
    assert not runs.filter(status="partial", quarantined=0).exists()
    assert not runs.filter(status="failed", error_message="").exists()
    assert Violation.objects.filter(run__status="partial").exists()
    assert runs.filter(parent_run__isnull=False).exists()
    # ids grow with time
    ordered = list(runs.order_by("pk").values_list("created_at", flat=True))
    assert ordered == sorted(ordered)
    # created_at is stamped again by later normal saves
    assert ImportRun._meta.get_field("created_at").auto_now_add


def test_seed_runs_refuses_nonsense():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("seed_runs", count=-1)
