from django.db import migrations

ROLE_PERMISSIONS = {
    "Operators": [
        "runs.view_importrun",
        "runs.add_importrun",
        "runs.cancel_importrun",
        "runs.replay_importrun",
        "dq.view_violation",
        "ingest.view_source",
        "ingest.view_externalidmap",
        "core.view_organization",
        "core.view_contact",
    ],
    "Stewards": [
        "runs.view_importrun",
        "dq.view_violation",
        "dq.change_violation",
        "dq.remediate_violation",
        "dq.view_payload",
        "dq.view_remediationaudit",
        "ingest.view_source",
        "ingest.view_externalidmap",
        "core.view_organization",
        "core.change_organization",
        "core.view_contact",
        "core.change_contact",
    ],
}


def create_roles(apps, schema_editor):
    """Permissions are normally made after migrate; make them now so the
    groups can hold them. This migration keeps its own copy of the table
    (dq/roles.py may change later; a later migration then adjusts groups)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0001_initial"),
        ("ingest", "0002_initial"),
        ("runs", "0001_initial"),
        ("dq", "0002_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
