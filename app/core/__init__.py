"""Shared foundations: the model base, column types, errors, HTMX helpers, privacy, storage."""
