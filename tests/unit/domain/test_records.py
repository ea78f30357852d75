"""``@record``: a frozen slotted dataclass with a faster ``__init__``, and nothing else changed."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from numguard.domain.records import record


@record
class Point:
    x: int
    y: int = 0
    label: str | None = None


@dataclass(frozen=True, slots=True)
class PlainPoint:
    x: int
    y: int = 0
    label: str | None = None


values = st.tuples(st.integers(), st.integers(), st.none() | st.text(max_size=5))


@given(values)
def test_a_record_behaves_like_the_frozen_dataclass_it_replaces(args: tuple) -> None:
    x, y, label = args
    built, plain = Point(x, y, label), PlainPoint(x, y, label)
    assert dataclasses.astuple(built) == dataclasses.astuple(plain)
    assert built == Point(x=x, y=y, label=label)
    assert hash(built) == hash(Point(x, y, label))
    assert repr(built) == repr(plain).replace("PlainPoint", "Point")
    assert dataclasses.replace(built, y=y + 1) == Point(x, y + 1, label)
    assert pickle.loads(pickle.dumps(built)) == built  # noqa: S301  its own bytes


def test_defaults_keywords_and_missing_arguments_work_as_in_a_dataclass() -> None:
    assert Point(1) == Point(x=1, y=0, label=None)
    assert Point(1, label="a").label == "a"
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, 2, "a", 4)  # type: ignore[call-arg]


def test_a_record_is_frozen_and_slotted() -> None:
    point = Point(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 3  # type: ignore[misc]
    assert not hasattr(point, "__dict__")
    assert Point.__match_args__ == ("x", "y", "label")
    assert Point.__init__.__qualname__ == "Point.__init__"


def test_fields_it_cannot_build_fast_are_refused_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="plain fields"):

        @record
        class WithFactory:
            items: list[int] = field(default_factory=list)

    with pytest.raises(TypeError, match="__post_init__"):

        @record
        class WithPostInit:
            x: int

            def __post_init__(self) -> None:
                pass
