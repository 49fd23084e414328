"""Fixtures shared with the other areas' tests: the remediation loop's
(tests/dq) and the upload form's (tests/runs)."""

from tests.dq.conftest import on_commit, requeue, steward  # noqa: F401
from tests.runs.conftest import operator, operator_client  # noqa: F401
