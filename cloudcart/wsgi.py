"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudcart.settings")

application = get_wsgi_application()

# After Django is set up (the wrapper reads settings): chunked bodies get a declared, bounded length.
from cloudcart.middleware import ChunkedBodyLimit  # noqa: E402

application = ChunkedBodyLimit(application)
