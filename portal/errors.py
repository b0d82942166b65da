"""The application's one error base. Services raise these with a message a
user can read; each edge translates them once: the web middleware
(portal.middleware.DomainErrorMiddleware), the API's exception handler
(api.exceptions) and the admin (portal.admin_support.ServiceAdminMixin)."""

from __future__ import annotations


class DomainError(Exception):
    """A request the application refuses; ``str(e)`` is for the user."""

    status: int = 400
    default_message: str = "This request cannot be carried out."

    def __init__(self, message: object = None) -> None:
        self.message = str(message) if message is not None else self.default_message
        super().__init__(self.message)


class Invalid(DomainError):
    """Bad input: a value the user can correct."""

    status = 400


class NotAllowed(DomainError):
    """The user's role does not allow this."""

    status = 403


class NotFound(DomainError):
    """Nothing there (inside an object the user may see, so saying so leaks nothing)."""

    status = 404
    default_message = "Not found."


class Conflict(DomainError):
    """The object's current state does not allow this (a finished job, an approved transcript)."""

    status = 409
