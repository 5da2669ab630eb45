"""`manage.py demo_users`: sign up the local stack's demo customer and staff user and print them.

`make run` runs it after `bootstrap_aws`; rerunning resets their passwords to the settings'.
Refuses to run in production: production has no demo accounts.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.services import user_ensure


class Command(BaseCommand):
    help = "Create (or reset) the demo customer and demo staff user and print their credentials."

    def handle(self, *args, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("Production has no demo users.")
        user_ensure(email=settings.DEMO_CUSTOMER_EMAIL, password=settings.DEMO_CUSTOMER_PASSWORD)
        user_ensure(email=settings.DEMO_STAFF_EMAIL, password=settings.DEMO_STAFF_PASSWORD, staff=True)
        self.stdout.write(
            "Demo accounts (sign in with POST /auth/login or the browsable API's /auth/login):\n"
            f"  customer: {settings.DEMO_CUSTOMER_EMAIL} / {settings.DEMO_CUSTOMER_PASSWORD}\n"
            f"  staff:    {settings.DEMO_STAFF_EMAIL} / {settings.DEMO_STAFF_PASSWORD}"
        )
