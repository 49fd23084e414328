import pytest
from django.contrib.auth.models import Group

from common.roles import ROLE_PERMISSIONS


@pytest.mark.django_db
def test_the_roles_migration_gives_each_group_exactly_its_permissions():
    for role, names in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role)
        granted = {
            f"{app_label}.{codename}"
            for app_label, codename in group.permissions.exclude(
                # The tests' own app grants its own (tests/targetapp/migrations/0002_roles.py).
                content_type__app_label="targetapp"
            ).values_list("content_type__app_label", "codename")
        }
        assert granted == set(names), role
