"""App config for the orders."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
