"""Bench-only settings: the app's settings plus the two baseline views. Never used in production.

gunicorn serves the app and the baselines from one process set with one config file, so each
ratio compares like with like. Only `make bench` points `DJANGO_SETTINGS_MODULE` here.
"""

from django.core.exceptions import ImproperlyConfigured

from cloudcart.settings import *  # noqa: F403
from cloudcart.settings import IS_PRODUCTION

if IS_PRODUCTION:
    raise ImproperlyConfigured("tests.bench.settings is for local benchmarks only.")

ROOT_URLCONF = "tests.bench.urls"
