"""Customers' identifiers: keyed pseudonyms in the analytical tables, redaction of old raw payloads."""
