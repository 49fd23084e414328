"""Who reaches what: one table of requests over the admin and the API, with
the status each role gets. Roles: anonymous, a staff user with no role,
Operators, Stewards and a superuser.

To cover a new page or endpoint, add a row to MATRIX: ``Case(name, url,
expect)`` where ``url`` is a path or a function of the ``World`` (objects
made through the real pipeline) and ``expect`` maps each role to its
status; ``admin_roles``/``api_roles`` build the usual expectations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.factories import ANONYMOUS, NO_ROLE, OPERATOR, ROLES, STEWARD, SUPERUSER
from tests.security.roles import World, client_for, make_world


def admin_roles(*allowed: str, ok: int = 200) -> dict[str, int]:
    """Admin page: anonymous is sent to the login page, staff without the
    permission get 403, the allowed roles and the superuser ``ok``."""
    return {
        ANONYMOUS: 302,
        NO_ROLE: 403,
        OPERATOR: 403,
        STEWARD: 403,
        SUPERUSER: ok,
    } | dict.fromkeys(allowed, ok)


def api_roles(*allowed: str, ok: int = 200) -> dict[str, int]:
    """API endpoint: anonymous gets 401 (token auth asks for credentials),
    users without the permission 403."""
    return {
        ANONYMOUS: 401,
        NO_ROLE: 403,
        OPERATOR: 403,
        STEWARD: 403,
        SUPERUSER: ok,
    } | dict.fromkeys(allowed, ok)


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def admin_url(
    model: str, view: str = "changelist", obj: str | None = None
) -> Callable[[World], str]:
    """``admin_url("core.organization", "change", "organization")``."""
    app_label, model_name = model.split(".")

    def build(world: World) -> str:
        args = [getattr(world, obj).pk] if obj else []
        return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)

    return build


@dataclass(frozen=True)
class Case:
    name: str
    url: str | Callable[[World], str]
    expect: dict[str, int]
    method: str = "get"
    data: dict[str, Any] | None = field(default=None, hash=False)
    json: bool = False


BOTH = (OPERATOR, STEWARD)

MATRIX = [
    # Admin change lists of every model.
    Case("admin index", "/admin/", admin_roles(NO_ROLE, *BOTH)),
    Case("runs list", admin_url("runs.importrun"), admin_roles(*BOTH)),
    Case("violations list", admin_url("dq.violation"), admin_roles(*BOTH)),
    Case("remediation audit list", admin_url("dq.remediationaudit"), admin_roles(STEWARD)),
    Case("sources list", admin_url("ingest.source"), admin_roles(*BOTH)),
    Case("id map list", admin_url("ingest.externalidmap"), admin_roles(*BOTH)),
    Case("organizations list", admin_url("core.organization"), admin_roles(*BOTH)),
    Case("contacts list", admin_url("core.contact"), admin_roles(*BOTH)),
    Case("users list", admin_url("auth.user"), admin_roles()),
    Case("groups list", admin_url("auth.group"), admin_roles()),
    Case("API tokens list", admin_url("authtoken.tokenproxy"), admin_roles()),
    # Object pages: viewing is the view permission, deleting nobody's but the superuser's.
    Case("run page", admin_url("runs.importrun", "change", "run"), admin_roles(*BOTH)),
    Case("violation page", admin_url("dq.violation", "change", "violation"), admin_roles(*BOTH)),
    Case("audit page", admin_url("dq.remediationaudit", "change", "audit"), admin_roles(STEWARD)),
    Case(
        "organization page",
        admin_url("core.organization", "change", "organization"),
        admin_roles(*BOTH),
    ),
    Case("id map page", admin_url("ingest.externalidmap", "change", "id_map"), admin_roles(*BOTH)),
    Case("add organization", admin_url("core.organization", "add"), admin_roles()),
    Case("add source", admin_url("ingest.source", "add"), admin_roles()),
    Case("delete run", admin_url("runs.importrun", "delete", "run"), admin_roles()),
    # A violation is the record of a bad row: nobody deletes it, the superuser neither.
    Case(
        "delete violation",
        admin_url("dq.violation", "delete", "violation"),
        admin_roles() | {SUPERUSER: 403},
    ),
    Case(
        "delete organization",
        admin_url("core.organization", "delete", "organization"),
        admin_roles(),
    ),
    Case("delete source", admin_url("ingest.source", "delete", "source"), admin_roles()),
    # Admin mutations (POST): only Stewards change core records.
    Case(
        "edit organization",
        admin_url("core.organization", "change", "organization"),
        admin_roles(STEWARD, ok=302),
        method="post",
        data={"name": "Renamed", "country": "DE"},
    ),
    Case(
        "delete organization (POST)",
        admin_url("core.organization", "delete", "organization"),
        admin_roles(ok=302),
        method="post",
        data={"post": "yes"},
    ),
    # API.
    Case("targets", lambda w: reverse("target-list"), api_roles(*BOTH)),
    Case(
        "target spec", lambda w: reverse("target-detail", args=["organization"]), api_roles(*BOTH)
    ),
    Case(
        "validate a payload",
        lambda w: reverse("target-validate", kwargs={"name": "organization"}),
        api_roles(*BOTH),
        method="post",
        data={"external_id": "X", "name": "Acme", "country": "DE"},
        json=True,
    ),
    # Public on purpose: the schema describes endpoints, not data; /metrics
    # holds counts only and is scraped without a login (restrict it at the
    # proxy, docs/security.md).
    Case("API schema", "/api/schema/", everyone(200)),
    Case("metrics", "/metrics", everyone(200)),
    # Stored files are never served directly: downloads go through views
    # that check permissions (and answer attachments; see test_downloads).
    Case("uploaded file by path", lambda w: "/media/" + w.run.file.name, everyone(404)),
    Case("results file by path", lambda w: "/media/" + w.run.results_file.name, everyone(404)),
]


def request(client: Client, case: Case, world: World):
    url = case.url(world) if callable(case.url) else case.url
    if case.method == "get":
        return client.get(url)
    if case.json:
        return client.post(url, case.data, content_type="application/json")
    return client.post(url, case.data or {})


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(role):
    """Every row of the matrix for one role; objects are made again after a
    POST, which may have changed or deleted them."""
    client = client_for(role)
    world = make_world()
    found = {}
    for case in MATRIX:
        found[case.name] = request(client, case, world).status_code
        if case.method == "post":
            world = make_world()
    assert found == {case.name: case.expect[role] for case in MATRIX}


def test_every_role_has_an_expectation_in_every_row():
    for case in MATRIX:
        assert set(case.expect) == set(ROLES), case.name


# --- Downloads ------------------------------------------------------------------
# Stored files leave only through views that check permissions and answer
# attachments. The dashboard and API branches add these views; a row whose URL
# name is not on this branch is skipped, naming it. Expectations follow the
# roles contract: the uploaded file holds every payload value, so only roles
# with dq.view_payload get it; the results ledger holds outcomes and ids.


@dataclass(frozen=True)
class Download:
    name: str
    url_name: str
    args: Callable[[World], list[Any]]
    expect: dict[str, int]


DOWNLOADS = [
    Download(
        "uploaded file (admin)",
        "admin:runs_importrun_file",
        lambda w: [w.run.pk],
        admin_roles(STEWARD),
    ),
    Download(
        "results file (admin)",
        "admin:runs_importrun_results",
        lambda w: [w.run.pk],
        admin_roles(*BOTH),
    ),
    Download("results file (API)", "run-results", lambda w: [w.run.pk], api_roles(*BOTH)),
]


@pytest.mark.django_db
@pytest.mark.parametrize("download", DOWNLOADS, ids=[d.name for d in DOWNLOADS])
@pytest.mark.parametrize("role", ROLES)
def test_downloads_are_attachments_for_permitted_roles_only(role, download):
    try:
        reverse(download.url_name, args=[1])
    except NoReverseMatch:
        pytest.skip(f"{download.url_name} is not on this branch")
    world = make_world()
    response = client_for(role).get(reverse(download.url_name, args=download.args(world)))
    assert response.status_code == download.expect[role]
    if response.status_code == 200:
        assert response["Content-Disposition"].startswith("attachment")
        assert response.get("X-Content-Type-Options") == "nosniff"
