"""Typed failures of the Jelou API. Messages say what to fix and never carry credentials."""

from __future__ import annotations


class JelouError(RuntimeError):
    """Base class: the API did not give us a complete, trustworthy window."""


class JelouAuthError(JelouError):
    """401: wrong credentials or wrong Authorization format. Never retried."""


class JelouValidationError(JelouError):
    """422 E0422 VALIDATOR_ERROR: the request's fields were rejected. Never retried."""


class JelouRateLimitError(JelouError):
    """429 persisted after every retry the budget allowed."""


class JelouServerError(JelouError):
    """5xx, connection failures or timeouts persisted after every retry."""


class JelouBadPayloadError(JelouError):
    """A 200 whose body is not the documented JSON shape (truncated, malformed, missing fields).

    `attempts`: requests spent on this answer that the raiser has not yet counted against the page's budget.
    """

    def __init__(self, message: str, attempts: int = 0) -> None:
        super().__init__(message)
        self.attempts = attempts


class JelouPaginationError(JelouError):
    """The pages of a window did not add up (total drifted, offsets shifted, ids missing) even after re-walks."""
