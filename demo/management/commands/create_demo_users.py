from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from common.roles import OPERATORS, STEWARDS

DEMO_USERS = [
    # username, password, role, superuser
    ("admin", "admin-demo-pass", None, True),
    ("operator", "operator-demo-pass", OPERATORS, False),
    ("steward", "steward-demo-pass", STEWARDS, False),
]


class Command(BaseCommand):
    help = "Create (or reset) the demo users and print their credentials. For demos only."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        self.stdout.write("Demo users (log in at http://127.0.0.1:8000/admin/):")
        for username, password, role, superuser in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.is_staff = True
            user.is_superuser = superuser
            user.set_password(password)
            user.save()
            if role:
                user.groups.set([Group.objects.get(name=role)])
            label = "superuser" if superuser else role
            self.stdout.write(f"  {username:<9} / {password:<20} ({label})")
