"""App config for customer accounts (Cognito sign-in, token authentication, the staff permission)."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        # The error table (cloudcart.error_codes) finds each code's status on its exception class.
        # The OpenAPI schema's bearer security scheme (drf-spectacular finds extensions on import).
        from accounts import (
            errors,  # noqa: F401
            openapi,  # noqa: F401
        )
