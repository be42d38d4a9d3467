"""Fetching each day from the API and cleaning it into facts, with the checks that prove each day complete."""
