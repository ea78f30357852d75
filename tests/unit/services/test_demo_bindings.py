"""Demo bindings are consistent with the demo world's tenures."""

from __future__ import annotations

from datetime import date

import pytest

from numguard.domain.binding import TenureSide, tenure_side
from numguard.services.demo_bindings import DEMO_PLATFORMS, demo_bindings, tenures
from numguard.services.demo_world import DemoWorld, generate_world

TODAY = date(2026, 11, 28)


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return generate_world(seed=3, numbers=3000, today=TODAY)


def test_every_binding_is_made_during_a_tenure_of_its_number(world: DemoWorld) -> None:
    made = demo_bindings(world)
    held: dict[str, list[tuple[date, date]]] = {}
    for t in tenures(world.events):
        held.setdefault(t.phone_number, []).append((t.start, t.end or TODAY))
    assert made.total > 100
    for records in made.records.values():
        for r in records:
            bound = date.fromisoformat(r["boundAt"])
            active = date.fromisoformat(r["lastActiveAt"])
            assert bound <= active <= TODAY
            assert any(start <= bound <= end for start, end in held[r["phoneNumber"]]), r


def test_the_number_to_try_has_bindings_from_before_and_during_its_tenure(
    world: DemoWorld,
) -> None:
    made = demo_bindings(world)
    sides = {
        code: {
            tenure_side(date.fromisoformat(r["boundAt"]), made.tenure_start, start_known=True)
            for r in records
            if r["phoneNumber"] == made.phone_number
        }
        for code, records in made.records.items()
    }
    bank, pay, chat, shop, food = (p.code for p in DEMO_PLATFORMS)
    assert sides[bank] == sides[shop] == {TenureSide.BEFORE}
    assert sides[pay] == sides[chat] == {TenureSide.BEFORE, TenureSide.DURING}
    assert sides[food] == {TenureSide.DURING}
    assert len(made.id_suffix) == 6


def test_the_same_world_and_seed_give_the_same_bindings(world: DemoWorld) -> None:
    assert demo_bindings(world, seed=5) == demo_bindings(world, seed=5)
    assert demo_bindings(world, seed=5) != demo_bindings(world, seed=6)
