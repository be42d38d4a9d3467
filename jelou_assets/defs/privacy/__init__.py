"""Raw retention: redaction of customers' ids from old raw payloads."""
