"""Alerts: what they say (`alert`), where they go (`sinks`), and how none is lost (`outbox`)."""
