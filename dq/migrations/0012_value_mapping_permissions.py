from django.db import migrations

# Stewards see and edit the value mappings "Replace value … remember" makes; Operators see them.
ADDED = {
    "Stewards": ["dq.view_valuemapping", "dq.change_valuemapping", "dq.delete_valuemapping"],
    "Operators": ["dq.view_valuemapping"],
}


def add_permissions(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ADDED.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ADDED.items():
        for group in Group.objects.filter(name=role):
            for name in names:
                app_label, codename = name.split(".")
                group.permissions.remove(
                    *Permission.objects.filter(content_type__app_label=app_label, codename=codename)
                )


class Migration(migrations.Migration):
    dependencies = [
        ("dq", "0011_value_mappings"),
    ]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]
