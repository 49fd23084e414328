import os

import pytest

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
ON_REDIS = bool(os.environ.get("REDIS_URL"))


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test stores its files in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


def pytest_collection_modifyitems(config, items):
    """Mark tests that need a real service, and skip them when it is absent,
    except under CI (IMPORTER_REQUIRE_SERVICES=1), where a skip is a failure."""
    require = os.environ.get("IMPORTER_REQUIRE_SERVICES") == "1"
    for item in items:
        for marker, available, variable in (
            ("postgres", ON_POSTGRES, "DATABASE_URL=postgres://…"),
            ("redis", ON_REDIS, "REDIS_URL"),
        ):
            if item.get_closest_marker(marker) and not available:
                if require:
                    raise pytest.UsageError(f"{item.nodeid} needs {variable}, and CI requires it")
                item.add_marker(pytest.mark.skip(reason=f"needs {variable}"))
