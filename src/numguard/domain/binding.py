"""Bindings: which platform accounts point at a phone number, and of what kind.

The :class:`Category` orders the people's unbinding plan (``numguard.domain.plan``) and keys the
guard policy (``numguard.domain.guard``); :func:`tenure_side` tells a new holder which bindings
predate them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Category(StrEnum):
    """The kind of platform an account belongs to (DESIGN.md §2).

    The declaration order is the unbinding order a person should follow before giving up a
    number: financial accounts first, then social, shopping, lifestyle and the rest.
    """

    FINANCIAL = "FINANCIAL"  # banks, payment, loans, insurance
    SOCIAL = "SOCIAL"  # messaging, social media, email
    COMMERCE = "COMMERCE"  # shopping
    LIFESTYLE = "LIFESTYLE"  # delivery, travel, ride-hailing
    OTHER = "OTHER"


UNBINDING_ORDER: tuple[Category, ...] = tuple(Category)
"""Categories in the order a person should unbind them (financial first)."""


@dataclass(frozen=True, slots=True)
class Binding:
    """One platform account that uses a phone number, as the platform reported it.

    ``account_ref`` is the platform's own opaque reference; the registry never interprets it.
    """

    platform: str
    account_ref: str
    phone_number: str
    category: Category
    bound_at: date
    last_active_at: date | None = None


class TenureSide(StrEnum):
    """Whether a binding was made during the current holder's tenure or before it."""

    DURING = "DURING"  # bound during your tenure
    BEFORE = "BEFORE"  # bound before you held this number
    UNKNOWN = "UNKNOWN"  # the tenure's start is not known exactly: the registry cannot tell


def tenure_side(bound_at: date, tenure_start: date | None, *, start_known: bool) -> TenureSide:
    """Which side of the tenure start a binding made on *bound_at* falls.

    A binding on the start day itself counts as the holder's own. When the start is only a
    lower bound (the tenure began before the carrier's reports were complete), a binding before
    it may still be the holder's: the answer is UNKNOWN, never BEFORE.
    """
    if tenure_start is None:
        return TenureSide.UNKNOWN
    if bound_at >= tenure_start:
        return TenureSide.DURING
    return TenureSide.BEFORE if start_known else TenureSide.UNKNOWN


def mask_account_ref(ref: str) -> str:
    """A platform account reference as people see it: ``wx****89`` (at most 4 kept characters).

    Short references keep only their first character; the stars are always four, so the mask
    does not tell the reference's length either.
    """
    if len(ref) >= 8:
        return ref[:2] + "****" + ref[-2:]
    return ref[:1] + "****"
