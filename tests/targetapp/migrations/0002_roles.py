"""The roles' permissions on products: operators see them, stewards also
correct them by hand (docs/targets.md, "Roles"). The Operators and Stewards
groups are dq's (dq/migrations/0003_roles.py)."""

from django.db import migrations

GRANTS = {
    "Operators": ["view_product"],
    "Stewards": ["view_product", "change_product"],
}


def grant(apps, schema_editor):
    """Permissions are normally made after migrate; make this app's now."""
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("targetapp")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="targetapp", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=list(GRANTS)):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="targetapp"))


class Migration(migrations.Migration):
    dependencies = [
        ("targetapp", "0001_initial"),
        ("dq", "0003_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
