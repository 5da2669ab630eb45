"""App config for the cart."""

from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "cart"
