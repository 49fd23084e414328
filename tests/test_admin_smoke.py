"""Every registered ModelAdmin's list (with search) and change page render
after the golden dataset is loaded."""

import pytest
from django.contrib import admin
from django.urls import reverse

from demo import golden

OUR_APPS = {"core", "ingest", "runs", "dq"}


@pytest.fixture
def loaded():
    for step in golden.manifest()["steps"][:4]:
        golden.golden_import_step(step)


@pytest.mark.django_db
def test_every_admin_list_and_change_page_renders(admin_client, loaded):
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        if meta.app_label not in OUR_APPS:
            continue
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert admin_client.get(changelist).status_code == 200, changelist
        if model_admin.search_fields:
            assert admin_client.get(changelist, {"q": "ORG"}).status_code == 200, changelist
        obj = model.objects.order_by("pk").first()
        if obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert admin_client.get(change).status_code == 200, change


@pytest.mark.django_db
def test_queue_pages_are_shown_only_with_redis(admin_client, settings):
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert ("django_rq" in index) is (not settings.IMPORTER_SYNC_JOBS)
