"""The back office: the order ledger on PostgreSQL, its projector, and the Django admin."""
