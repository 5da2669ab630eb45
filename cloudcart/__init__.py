"""The CloudCart Django project."""
