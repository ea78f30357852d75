"""Reading bindings files: every row is either usable or rejected with its line number."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numguard.domain.guard import Factor
from numguard.guard.reconcile.bindings import (
    NotABindingsFile,
    day_number,
    factor_set_mask,
    iter_blocks,
    parse_days,
)
from numguard.guard.reconcile.registry import parse_reply, request_body
from numguard.guard.reconcile.table import factor_mask

AS_OF = date(2026, 11, 28)
HEADER = b"accountRef,phoneNumber,category,boundAt,lastActiveAt,factors\n"


def read(data: bytes, block_bytes: int = 1 << 20) -> list:
    return list(iter_blocks(io.BytesIO(data), AS_OF, block_bytes=block_bytes))


def test_rows_keep_their_line_numbers_across_blocks_blank_lines_and_crlf() -> None:
    body = b"".join(
        b"a%d,+8613800138000,SOCIAL,2024-01-01,,\r\n" % i if i % 7 else b"\r\n" for i in range(200)
    )
    blocks = read(HEADER + body, block_bytes=256)
    assert len(blocks) > 5
    lines = np.concatenate([b.lines for b in blocks]).tolist()
    assert lines == [i + 2 for i in range(200) if i % 7]
    accounts = [a for b in blocks for a in b.accounts]
    assert accounts == [b"a%d" % i for i in range(200) if i % 7]
    assert sum(len(b.rejects) for b in blocks) == 0


def test_quoted_values_are_read_and_written_back_quoted() -> None:
    data = HEADER + b'"acct, with comma",+8613800138000,SOCIAL,2024-01-01,,"TOTP"\n'
    data += b'plain,"+86 138 0013 8000",financial,2024-01-01,2024-02-01,\n'
    (block,) = read(data)
    assert block.accounts == [b'"acct, with comma"', b"plain"]
    assert block.phones == [b"+8613800138000", b"+86 138 0013 8000"]
    assert block.category.tolist() == [1, 0]
    assert block.factors.tolist() == [factor_mask({Factor.TOTP}), 0]


def test_each_kind_of_bad_row_is_rejected_with_its_line_and_code() -> None:
    data = HEADER + (
        b"ok,+8613800138000,OTHER,2024-01-01,,\n"
        b",+8613800138000,OTHER,2024-01-01,,\n"
        b"p,,OTHER,2024-01-01,,\n"
        b"c,+8613800138000,BANK,2024-01-01,,\n"
        b"d,+8613800138000,OTHER,2023-02-29,,\n"
        b"f,+8613800138000,OTHER,2026-11-29,,\n"
        b"l,+8613800138000,OTHER,2024-01-01,yesterday,\n"
        b"x,+8613800138000,OTHER,2024-01-01,,SMS\n"
        b"w,+8613800138000,OTHER\n"
        b"today,+8613800138000,OTHER,2026-11-28,,\n"
    )
    (block,) = read(data)
    assert block.lines.tolist() == [2, 11]
    assert [(r.line, r.code) for r in block.rejects] == [
        (3, "MISSING_ACCOUNT_REF"),
        (4, "INVALID_PHONE_NUMBER"),
        (5, "INVALID_CATEGORY"),
        (6, "INVALID_BOUND_AT"),
        (7, "BOUND_AT_AFTER_AS_OF"),
        (8, "INVALID_LAST_ACTIVE_AT"),
        (9, "INVALID_FACTORS"),
        (10, "WRONG_COLUMN_COUNT"),
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\n",
        b"phoneNumber,specifiedDate\n+8613800138000,2024-01-01\n",
        b"\xff\xfe\x00a\x00c\x00c\n",
        b"x" * 70_000,
    ],
)
def test_a_file_that_is_not_a_bindings_file_is_refused_whole(data: bytes) -> None:
    with pytest.raises(NotABindingsFile):
        read(data)


def test_columns_may_come_in_any_order_and_factors_may_be_missing() -> None:
    data = b"lastActiveAt,boundAt,category,phoneNumber,accountRef,note\n,2024-01-01,LIFESTYLE,+8613800138000,z,hi\n"
    (block,) = read(data)
    assert block.accounts == [b"z"]
    assert block.category.tolist() == [3]
    assert block.factors.tolist() == [0]


@given(st.dates(date(1900, 1, 1), date(2999, 12, 31)), st.booleans())
def test_dates_parse_to_their_day_numbers(day: date, timed: bool) -> None:
    text = day.isoformat().encode() + (b"T09:30:00+08:00" if timed else b"")
    days, ok = parse_days([text])
    assert ok.tolist() == [True]
    assert days.tolist() == [day_number(day)]


@pytest.mark.parametrize(
    "text",
    [b"2023-02-29", b"2024-13-01", b"2024-04-31", b"24-01-01", b"2024/01/01", b"2024-01-01x", b""],
)
def test_impossible_or_malformed_dates_are_invalid(text: bytes) -> None:
    assert parse_days([text])[1].tolist() == [False]


def test_factor_lists_accept_the_usual_separators_and_refuse_unknown_names() -> None:
    assert factor_set_mask(b"totp|Password; EMAIL") == factor_set_mask(b"EMAIL PASSWORD TOTP")
    assert factor_set_mask(b"") == 0
    assert factor_set_mask(b"TOTP|FACE") == -1


def test_the_registrys_bulk_answer_is_read_row_by_row_in_order() -> None:
    body = request_body(b"+8613800138000,2024-01-01\n12345,2024-01-01\n")
    assert body.splitlines()[1] == b"+8613800138000,2024-01-01"
    reply = parse_reply(
        b"phoneNumber,specifiedDate,recycled,reason,phoneNumberRecycled,fcc,vendorCode,errorCode,errorMessage\n"
        b"+8613800138000,2024-01-01,yes,TENURE_ENDED,true,yes,1,,\n"
        b'12345,2024-01-01,,,,,,IDENTIFIER_NOT_FOUND,"not a number, sorry"\n'
        b"+8615000150000,2024-01-01,unknown,NOT_COVERED,,no data,0,,\n",
        3,
    )
    assert reply.outcome.tolist() == [0, -1, 2]
    assert reply.errors == {1: ("IDENTIFIER_NOT_FOUND", "not a number, sorry")}
