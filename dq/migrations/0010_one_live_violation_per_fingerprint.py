from django.db import migrations, models


class Migration(migrations.Migration):
    """After 0009 merged the duplicates: at most one open or requeued
    violation per fingerprint, so concurrent runs cannot make two."""

    dependencies = [("dq", "0009_merge_duplicate_violations")]

    operations = [
        migrations.AddConstraint(
            model_name="violation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("dry_run", False), ("status__in", ["open", "requeued"]), models.Q(("fingerprint", ""), _negated=True)),
                fields=("fingerprint",),
                name="dq_violation_one_live_per_fingerprint",
            ),
        ),
    ]
