"""A project's own app with an import target (docs/targets.md): installed
by the test settings only (tests/settings.py), never in production."""
