"""Bindings: what kind of platform account points at a phone number.

Only the :class:`Category` lives here for now; the guard policy (``numguard.domain.guard``) and the
people's unbinding plan both key their rules on it.
"""

from __future__ import annotations

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
