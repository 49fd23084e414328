"""The two roles, as permission code names per app label. The data
migration and the tests read this one table."""

OPERATORS = "Operators"
STEWARDS = "Stewards"

ROLE_PERMISSIONS: dict[str, list[str]] = {
    OPERATORS: [
        "runs.view_importrun",
        "runs.add_importrun",
        "runs.cancel_importrun",
        "runs.replay_importrun",
        "dq.view_violation",
        "dq.view_valuemapping",
        "ingest.view_source",
        "ingest.view_externalidmap",
        "core.view_organization",
        "core.view_contact",
    ],
    STEWARDS: [
        "runs.view_importrun",
        "dq.view_violation",
        "dq.change_violation",
        "dq.remediate_violation",
        "dq.view_payload",
        "dq.view_remediationaudit",
        "dq.view_valuemapping",
        "dq.change_valuemapping",
        "dq.delete_valuemapping",
        "ingest.view_source",
        "ingest.view_externalidmap",
        "ingest.repoint_externalidmap",
        "ingest.view_idmapaudit",
        "core.view_organization",
        "core.change_organization",
        "core.view_contact",
        "core.change_contact",
    ],
}


def ensure_role_groups() -> None:
    """Create the role groups with their permissions if they are missing (the
    data migration does this once; a flushed test database needs it again)."""
    from django.contrib.auth.models import Group, Permission

    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for codename in codenames:
            app_label, name = codename.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=name)
            )
