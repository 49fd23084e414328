"""Data-migration tests: move the test database to some migrations and back
to the latest, on real rows (the tests mark themselves transactional)."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets):
    """Migrate to ``targets``; returns the apps of that state (its historical models)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    """Every app's latest migration, to migrate back to after a test."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()
