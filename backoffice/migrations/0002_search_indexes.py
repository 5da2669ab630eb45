"""Trigram indexes for the admin's substring search on product names and e-mails (PostgreSQL only)."""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS orderline_name_trgm ON backoffice_orderline "
    "USING gin (upper(name) gin_trgm_ops)",
]
BACKWARD = ["DROP INDEX IF EXISTS orderline_name_trgm"]


def _run(statements):
    def run(apps, schema_editor):
        # SQLite (the local fallback) searches by a plain scan: fine at a developer's scale.
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("backoffice", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
