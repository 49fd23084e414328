"""Login throttling (django-axes): after IMPORTER_LOGIN_FAILURE_LIMIT wrong
passwords for one username from one address, even the right password is
refused with the lockout page until the cool-off has passed."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from importer_project.login_lockout import LOCKED_STATUS, LOGIN_LOCKED

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "right-horse-battery-staple"
ATTACKER = "203.0.113.7"


@pytest.fixture
def staff(settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher"
    ]  # fast: many logins here
    return User.objects.create_user("alice", password=PASSWORD, is_staff=True)


def log_in(client: Client, password: str, address: str = ATTACKER):
    return client.post(LOGIN, {"username": "alice", "password": password}, REMOTE_ADDR=address)


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def test_the_right_password_after_the_limit_of_wrong_ones_is_refused(staff, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert log_in(client, "wrong").status_code in (200, LOCKED_STATUS)
    response = log_in(client, PASSWORD)
    assert response.status_code == LOCKED_STATUS
    assert LOGIN_LOCKED.format(minutes=15) in response.content.decode()
    assert response["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session


def test_one_try_fewer_than_the_limit_still_logs_in(staff, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "wrong").status_code == 200
    assert logged_in(log_in(client, PASSWORD))


def test_the_lock_is_per_username_and_address_and_ends_after_the_cool_off(staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(Client(), "wrong")
    assert logged_in(
        log_in(Client(), PASSWORD, address="198.51.100.9")
    )  # the user, from their own address
    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + dt.timedelta(seconds=1)):
        assert logged_in(log_in(Client(), PASSWORD))
