import os
import shutil

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    """promtool from Debian's `prometheus` package; CI (IMPORTER_REQUIRE_SERVICES=1) must have it."""
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("IMPORTER_REQUIRE_SERVICES") == "1":
            pytest.fail("promtool is missing (apt-get install prometheus), and CI requires it")
        pytest.skip("needs promtool (apt-get install prometheus)")
    return path
