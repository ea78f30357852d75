"""The one error hierarchy: every error has a stable code, a kind for the faces, and a message."""

from __future__ import annotations

import pytest

from numguard.errors import (
    Conflict,
    ErrorKind,
    Forbidden,
    InvalidInput,
    NotApplicable,
    NotFound,
    NumguardError,
    OutOfRange,
    RateLimited,
    Unauthenticated,
    Unavailable,
)

ERRORS: list[tuple[type[NumguardError], ErrorKind, str]] = [
    (InvalidInput, ErrorKind.INVALID, "INVALID_ARGUMENT"),
    (OutOfRange, ErrorKind.OUT_OF_RANGE, "OUT_OF_RANGE"),
    (NotFound, ErrorKind.NOT_FOUND, "NOT_FOUND"),
    (NotApplicable, ErrorKind.NOT_APPLICABLE, "SERVICE_NOT_APPLICABLE"),
    (Conflict, ErrorKind.CONFLICT, "CONFLICT"),
    (Unauthenticated, ErrorKind.UNAUTHENTICATED, "UNAUTHENTICATED"),
    (Forbidden, ErrorKind.FORBIDDEN, "PERMISSION_DENIED"),
    (Unavailable, ErrorKind.UNAVAILABLE, "UNAVAILABLE"),
]


@pytest.mark.parametrize(("error", "kind", "code"), ERRORS, ids=lambda v: getattr(v, "__name__", v))
def test_every_error_has_its_kind_and_default_code(
    error: type[NumguardError], kind: ErrorKind, code: str
) -> None:
    raised = error("something went wrong")
    assert isinstance(raised, NumguardError)
    assert raised.kind is kind
    assert raised.code == code
    assert raised.message == "something went wrong"
    assert str(raised) == f"{code}: something went wrong"


def test_code_can_be_made_more_precise_without_changing_the_class_default() -> None:
    precise = InvalidInput("bad phone", code="INVALID_PHONE_NUMBER")
    assert precise.code == "INVALID_PHONE_NUMBER"
    assert str(precise) == "INVALID_PHONE_NUMBER: bad phone"
    assert InvalidInput("other").code == "INVALID_ARGUMENT"


def test_rate_limited_says_when_to_retry() -> None:
    limited = RateLimited("slow down", retry_after=2.5)
    assert limited.kind is ErrorKind.RATE_LIMITED
    assert limited.code == "TOO_MANY_REQUESTS"
    assert limited.retry_after == 2.5


def test_every_kind_has_an_error_class() -> None:
    kinds = {kind for _, kind, _ in ERRORS} | {RateLimited.kind}
    assert kinds == set(ErrorKind)
