"""The bad-input catalogue: every file goes through the real pipeline
(``run_create`` then ``run_execute``), as an upload would, and every run
is checked for what must hold whatever the file (tests/importing.py)."""

import pytest

from tests.importing import import_checked


@pytest.fixture
def run_bytes(db):
    return import_checked
