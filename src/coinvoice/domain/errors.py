"""Domain errors: a stable code, a message for people, and the request field at fault."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a client can cause; the web layer maps the subclass to an HTTP status."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class Invalid(DomainError):
    """The request breaks a rule (400)."""


class NotFound(DomainError):
    """No such object for this caller (404)."""


class Conflict(DomainError):
    """The object is in a state that does not allow this (409)."""


class Unavailable(DomainError):
    """A dependency (rates, a node) cannot answer now (503)."""
