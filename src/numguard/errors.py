"""One error hierarchy for the whole system.

Every error carries a machine ``code`` (stable, upper snake case) and a human ``message``.
The web face turns the :class:`ErrorKind` into an HTTP status; the CLI prints one line on
stderr and exits with code 2 for bad input. Nothing here imports a framework.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """What went wrong, independent of the face that reports it."""

    INVALID = "INVALID"  # the caller sent something malformed
    OUT_OF_RANGE = "OUT_OF_RANGE"  # well formed, but outside what can be answered
    NOT_FOUND = "NOT_FOUND"  # the thing named does not exist
    NOT_APPLICABLE = "NOT_APPLICABLE"  # the service does not apply to this subject
    CONFLICT = "CONFLICT"  # the request contradicts stored state
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    UNAVAILABLE = "UNAVAILABLE"


class NumguardError(Exception):
    """Base of every error the system raises on purpose."""

    kind: ErrorKind = ErrorKind.INVALID
    code: str = "INVALID_ARGUMENT"
    keep_code: bool = False
    """True when the API answers with this error's own code rather than its kind's standard one."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidInput(NumguardError):
    """Malformed input: a value that does not have the required shape."""

    kind = ErrorKind.INVALID
    code = "INVALID_ARGUMENT"


class OutOfRange(NumguardError):
    """A well-formed value outside the range the system can answer for."""

    kind = ErrorKind.OUT_OF_RANGE
    code = "OUT_OF_RANGE"


class NotFound(NumguardError):
    """The subject named does not exist."""

    kind = ErrorKind.NOT_FOUND
    code = "NOT_FOUND"


class NotApplicable(NumguardError):
    """The service does not apply to this subject (for example a number outside coverage)."""

    kind = ErrorKind.NOT_APPLICABLE
    code = "SERVICE_NOT_APPLICABLE"


class Conflict(NumguardError):
    """The request contradicts what is stored."""

    kind = ErrorKind.CONFLICT
    code = "CONFLICT"


class Unauthenticated(NumguardError):
    """Missing, invalid or expired credentials."""

    kind = ErrorKind.UNAUTHENTICATED
    code = "UNAUTHENTICATED"


class Forbidden(NumguardError):
    """Authenticated, but not allowed to do this."""

    kind = ErrorKind.FORBIDDEN
    code = "PERMISSION_DENIED"


class RateLimited(NumguardError):
    """Too many requests from one client."""

    kind = ErrorKind.RATE_LIMITED
    code = "TOO_MANY_REQUESTS"

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class Unavailable(NumguardError):
    """A dependency is down or the service is not ready yet."""

    kind = ErrorKind.UNAVAILABLE
    code = "UNAVAILABLE"
