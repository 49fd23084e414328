"""factory-boy factories for the rows tests build by hand.

Rows an import makes (records, id maps, violations with real errors) come
from the real pipeline instead: see ``tests/importing.py``. These are for a
test that needs a row in a given state without importing a file: a run as
the dashboard lists it, a violation of a made-up run, a user in a role.
"""

from __future__ import annotations

import datetime
import functools

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.utils import timezone
from factory.django import DjangoModelFactory
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from common.roles import OPERATORS, STEWARDS
from dq.models import RemediationAudit, Violation
from ingest.models import Source
from runs.models import ImportRun

PASSWORD = "test-pass-123"

# The roles a permission test goes through, by the names its ids show.
ANONYMOUS, NO_ROLE, OPERATOR, STEWARD, SUPERUSER = (
    "anonymous",
    "no role",
    "operator",
    "steward",
    "superuser",
)
ROLES = (ANONYMOUS, NO_ROLE, OPERATOR, STEWARD, SUPERUSER)
_TRAITS = {NO_ROLE: "viewer", OPERATOR: "operator", STEWARD: "steward", SUPERUSER: "admin"}


@functools.cache
def _password_hash() -> str:
    """Hash the test password once: the default hasher is slow on purpose,
    and every user of a test shares the one password."""
    return make_password(PASSWORD)


class UserFactory(DjangoModelFactory):
    """A staff user who can log in with ``PASSWORD``. Give a role with
    ``role=OPERATORS`` (a group of common/roles.py) or a trait:
    ``UserFactory(operator=True)``, ``steward=True``, ``admin=True``
    (superuser, no group), ``viewer=True`` (staff without a role: sees
    nothing)."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.LazyFunction(_password_hash)
    is_staff = True

    class Params:
        operator = factory.Trait(role=OPERATORS)
        steward = factory.Trait(role=STEWARDS)
        admin = factory.Trait(is_superuser=True)
        viewer = factory.Trait(role=None)

    @classmethod
    def _create(cls, model_class, *args, role: str | None = None, **kwargs):
        """The role groups come from the data migration (tests/conftest.py
        makes them again after a flush); a user only joins one."""
        user = super()._create(model_class, *args, **kwargs)
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user


class SourceFactory(DjangoModelFactory):
    """The source ``crm`` unless told otherwise, shared like the upload's
    ``source="crm"`` shares it."""

    class Meta:
        model = Source
        django_get_or_create = ("slug",)

    slug = "crm"


class ImportRunFactory(DjangoModelFactory):
    """A run row as the dashboard sees it: no file, no job, queued unless
    told otherwise. ``finished=True`` makes it a succeeded run that started
    an hour ago and took ``seconds``; ``created_at`` is kept (the model
    stamps its own on insert)."""

    class Meta:
        model = ImportRun

    target = "organization"
    source = factory.SubFactory(SourceFactory)

    class Params:
        seconds = 0.0
        finished = factory.Trait(
            status=ImportRun.Status.SUCCEEDED,
            started_at=factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(hours=1)),
            finished_at=factory.LazyAttribute(
                lambda run: run.started_at + datetime.timedelta(seconds=run.seconds)
            ),
        )

    @classmethod
    def _create(cls, model_class, *args, created_at: datetime.datetime | None = None, **kwargs):
        run = super()._create(model_class, *args, **kwargs)
        if created_at is not None:
            model_class.objects.filter(pk=run.pk).update(created_at=created_at)
            run.refresh_from_db()
        return run


class ViolationFactory(DjangoModelFactory):
    """An open violation of row 2 of its run, with the errors given (a
    required name unless told otherwise) and their codes."""

    class Meta:
        model = Violation

    run = factory.SubFactory(ImportRunFactory)
    target = factory.SelfAttribute("run.target")
    source = factory.SelfAttribute("run.source")
    row_number = 2
    errors = factory.LazyFunction(
        lambda: [{"field": "name", "code": "required", "message": "This field is required."}]
    )
    codes = factory.LazyAttribute(lambda violation: ",".join(e["code"] for e in violation.errors))


class RemediationAuditFactory(DjangoModelFactory):
    """An audit line of an ignored violation."""

    class Meta:
        model = RemediationAudit

    violation = factory.SubFactory(ViolationFactory)
    action = RemediationAudit.Action.IGNORE
    before = factory.LazyFunction(dict)
    after = factory.LazyFunction(dict)
    outcome = RemediationAudit.Outcome.IGNORED


def user_for(role: str, **fields):
    """A user in one of ``ROLES`` (None for anonymous)."""
    if role == ANONYMOUS:
        return None
    return UserFactory(**{_TRAITS[role]: True}, **fields)


def token_client(role: str) -> APIClient:
    """An API client in one of ``ROLES`` that authenticates like an
    integration, with a token; its user is ``client.user``."""
    client = APIClient()
    client.user = user_for(role, is_staff=False)
    if client.user is not None:
        token = Token.objects.create(user=client.user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
