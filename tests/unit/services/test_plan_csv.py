"""The plan's CSV download: columns, masked accounts, and the lines a person ticked."""

from __future__ import annotations

import csv
import io
from datetime import date

from numguard.domain.binding import Category
from numguard.domain.plan import PlanAction, PlanReason
from numguard.services.bindings import PLAN_CSV_COLUMNS, CancellationPlanView, PlanLine, plan_csv

PLAN = CancellationPlanView(
    "138****8000",
    date(2026, 11, 28),
    365,
    (
        PlanLine(
            1, "BANK", "示例银行", Category.FINANCIAL, "ac****01", PlanAction.UNBIND,
            PlanReason.IN_USE, date(2026, 11, 1), 27,
        ),
        PlanLine(
            2, "SHOP", "Shop, Inc.", Category.COMMERCE, "sh****77", PlanAction.CLOSE_ACCOUNT,
            PlanReason.DORMANT, date(2024, 1, 2), 1061,
        ),
    ),
)  # fmt: skip


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_nothing_is_done_unless_ticked() -> None:
    text = plan_csv(PLAN)
    assert text.splitlines()[0] == ",".join(PLAN_CSV_COLUMNS)
    assert [r["done"] for r in rows(text)] == ["", ""]
    assert rows(text)[1]["platformName"] == "Shop, Inc."  # quoted, read back whole


def test_the_ticked_positions_are_done() -> None:
    assert [r["done"] for r in rows(plan_csv(PLAN, frozenset({2})))] == ["", "yes"]
    assert [r["done"] for r in rows(plan_csv(PLAN, {1, 2, 9}))] == ["yes", "yes"]
