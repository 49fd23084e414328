"""Issue 18: a replacement remembered as a value mapping of a source is
applied to that source's later imports before validation, recorded in the
run's parameters (a replay applies the same ones) and counted per run."""

import pytest
from django.test import Client
from django.urls import reverse

from dq import services
from dq.models import ValueMapping, Violation
from ingest.models import Source
from runs import services as run_services
from runs.execution import runner
from tests.dq.feeds import HEADER
from tests.importing import import_bytes

pytestmark = pytest.mark.django_db

GERMANY = "A-{n},Org {n},{country},info{n}@example.org\n"


def feed(country: str = "Germany", rows: int = 3) -> str:
    return HEADER + "".join(GERMANY.format(n=n, country=country) for n in range(rows))


def remember(source: str = "crm", to: str = "DE") -> ValueMapping:
    return services.value_mapping_save(
        source_id=Source.objects.get_or_create(slug=source)[0].pk,
        target="organization",
        field_name="country",
        from_value="Germany",
        to_value=to,
        actor=None,
    )


def test_a_remembered_replacement_applies_to_later_imports_of_the_source():
    remember()
    run = import_bytes(feed())
    assert (run.quarantined, run.inserted, run.values_mapped) == (0, 3, 3)
    assert run.ingest_params_json["value_mappings"] == {"country": {"Germany": "DE"}}


def test_it_matches_the_value_trimmed_too():
    remember()
    run = import_bytes(feed(country=" Germany "))
    assert (run.quarantined, run.values_mapped) == (0, 3)


def test_other_sources_are_not_touched():
    remember(source="erp")
    run = import_bytes(feed())
    assert (run.quarantined, run.values_mapped) == (3, 0)
    assert run.ingest_params_json["value_mappings"] == {}


def test_an_inactive_mapping_is_not_applied():
    mapping = remember()
    ValueMapping.objects.filter(pk=mapping.pk).update(active=False)
    assert import_bytes(feed()).quarantined == 3


def test_a_replay_applies_the_mappings_its_run_recorded():
    mapping = remember()
    run = import_bytes(feed())
    ValueMapping.objects.filter(pk=mapping.pk).update(to_value="XX")  # changed since
    replay = run_services.run_replay(run=run, enqueue=False)
    runner.run_execute(run_id=replay.pk)
    replay.refresh_from_db()
    assert replay.ingest_params_json["value_mappings"] == {"country": {"Germany": "DE"}}
    assert (replay.quarantined, replay.values_mapped) == (0, 3)
    assert import_bytes(feed()).quarantined == 3  # a new upload takes the mapping as it is now


def test_a_dry_run_counts_mapped_values_too():
    remember()
    run = import_bytes(feed(), dry_run=True)
    assert (run.quarantined, run.values_mapped) == (0, 3)


def test_a_steward_who_fixed_germany_once_never_sees_it_again(on_commit):
    import_bytes(feed())
    with on_commit():
        result = services.violations_replace_value(
            violations=Violation.objects.all(),
            field_name="country",
            from_value="Germany",
            to_value="DE",
            actor=None,
            requeue=True,
            remember=True,
        )
    assert result.replaced == 3 and Violation.objects.filter(status="resolved").count() == 3
    again = import_bytes(feed(rows=5))
    assert again.quarantined == 0
    assert not Violation.objects.filter(status="open").exists()


def test_saving_an_unknown_field_is_refused():
    with pytest.raises(services.UsageError):
        services.value_mapping_save(
            source_id=Source.objects.create(slug="crm").pk,
            target="organization",
            field_name="colour",
            from_value="a",
            to_value="b",
            actor=None,
        )


def test_the_admin_lists_and_edits_mappings(steward, operator):
    mapping = remember()
    client = Client()
    client.force_login(steward)
    changelist = reverse("admin:dq_valuemapping_changelist")
    assert "Germany" in client.get(changelist).content.decode()
    response = client.post(
        reverse("admin:dq_valuemapping_change", args=[mapping.pk]),
        {
            "source": mapping.source_id,
            "target": "organization",
            "field": "country",
            "from_value": "Germany",
            "to_value": "DE",
            "active": "",
        },
    )
    assert response.status_code == 302
    assert ValueMapping.objects.get(pk=mapping.pk).active is False
    client.force_login(operator)
    assert client.get(changelist).status_code == 200
    assert (
        client.post(reverse("admin:dq_valuemapping_change", args=[mapping.pk]), {}).status_code
        == 403
    )
