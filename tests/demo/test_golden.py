"""The golden dataset, imported in order through the real pipeline, must give
exactly the outcomes its manifest records."""

import io

import pytest
from django.core.management import call_command

from core.models import Contact, Organization
from demo import golden
from ingest import registry
from ingest.models import ExternalIdMap, Source
from runs.models import ImportRun

MODELS = {"organization": Organization, "contact": Contact}


def core_counts():
    return {name: model.objects.count() for name, model in MODELS.items()}


def record_of(target, source, external_id):
    mapping = ExternalIdMap.objects.get(source__slug=source, target=target, external_id=external_id)
    return MODELS[target].objects.get(pk=mapping.record_id)


@pytest.mark.django_db
def test_golden_dataset_gives_the_manifest_outcomes():
    manifest = golden.manifest()
    for step in manifest["steps"]:
        run = golden.golden_import_step(step)
        name = step["name"]
        assert run.error_message == "", name
        assert {key: getattr(run, key) for key in step["expect"]} == step["expect"], name
        assert run.rows_total == (
            run.inserted + run.updated + run.unchanged + run.skipped + run.quarantined
        ), name
        assert run.rows_processed == run.rows_total, name
        if "violations" in step:
            found = [
                [violation.row_number, sorted(error["code"] for error in violation.errors)]
                for violation in run.violations.order_by("row_number")
            ]
            assert found == [[number, sorted(codes)] for number, codes in step["violations"]], name
        if "core_counts" in step:
            assert core_counts() == step["core_counts"], name
        if "detected" in step:
            detected = run.ingest_params_json["detected"]
            assert {key: detected[key] for key in step["detected"]} == step["detected"], name

    final = manifest["final"]
    assert core_counts() == final["core_counts"]
    for expected in final["records"]:
        record = record_of(expected["target"], expected["source"], expected["external_id"])
        for field, value in expected["fields"].items():
            if field == "organization_external_id":
                organization = record_of("organization", expected["source"], value)
                assert record.organization_id == organization.pk
            else:
                assert getattr(record, field) == value, (expected["external_id"], field)


@pytest.mark.django_db
def test_every_rule_code_is_covered_by_the_golden_dataset():
    from ingest.fields import RULE_CODES

    codes = {
        code
        for step in golden.manifest()["steps"]
        for _, step_codes in step.get("violations", [])
        for code in step_codes
    }
    assert codes == set(RULE_CODES)
    # The demo targets; the tests' own app adds one (tests/targetapp).
    core_targets = [t.name for t in registry.all_targets() if t.model._meta.app_label == "core"]
    assert core_targets == ["contact", "organization"]


@pytest.mark.django_db
def test_load_golden_names_the_demo_sources_and_loads_once():
    out = io.StringIO()
    call_command("load_golden", "--if-empty", stdout=out)
    assert dict(Source.objects.values_list("slug", "name")) == {
        "crm": "CRM export",
        "erp": "ERP nightly feed",
    }
    assert ImportRun.objects.count() == len(golden.manifest()["steps"])
    call_command("load_golden", "--if-empty", stdout=out)
    assert ImportRun.objects.count() == len(golden.manifest()["steps"])
    assert "not loaded again" in out.getvalue()
