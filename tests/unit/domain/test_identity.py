"""Holders' identities: ID number rules, masking, keyed hashes, and no raw ID kept anywhere."""

from __future__ import annotations

import dataclasses

import pytest
from domain_builders import KEY, cn_resident_ids, iso7064_mod11_2_check, make_cn_id
from hypothesis import given, settings
from hypothesis import strategies as st

from numguard.domain.identity import (
    HolderRef,
    IdType,
    InvalidIdNumber,
    holder_from_id,
    id_suffix_hash,
    mask_id_number,
    normalize_id_number,
)
from numguard.errors import ErrorKind

PUBLISHED_SAMPLE_ID = "11010519491231002X"
"""The resident ID used as the example in GB 11643-1999; its check character is X."""


def test_check_generator_agrees_with_the_published_sample() -> None:
    assert iso7064_mod11_2_check(PUBLISHED_SAMPLE_ID[:17]) == "X"


def test_published_sample_resident_id_is_valid() -> None:
    assert normalize_id_number(IdType.CN_RESIDENT, PUBLISHED_SAMPLE_ID) == PUBLISHED_SAMPLE_ID


@settings(max_examples=200, deadline=None)
@given(cn_resident_ids())
def test_every_resident_id_with_the_right_check_character_is_accepted(id_number: str) -> None:
    assert normalize_id_number(IdType.CN_RESIDENT, id_number) == id_number


def test_lowercase_x_and_separators_are_normalised() -> None:
    messy = " 110105-19491231-002x "
    assert normalize_id_number(IdType.CN_RESIDENT, messy) == PUBLISHED_SAMPLE_ID


@settings(max_examples=200, deadline=None)
@given(cn_resident_ids(), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_typo_in_a_resident_id_is_caught(
    id_number: str, position: int, shift: int
) -> None:
    digit = (int(id_number[position]) + shift) % 10
    if position == 0 and digit == 0:
        digit = 1 if id_number[0] != "1" else 2
    typo = id_number[:position] + str(digit) + id_number[position + 1 :]
    with pytest.raises(InvalidIdNumber, match="check character"):
        normalize_id_number(IdType.CN_RESIDENT, typo)


@settings(max_examples=100, deadline=None)
@given(cn_resident_ids(), st.sampled_from("0123456789X"))
def test_a_wrong_check_character_is_caught(id_number: str, check: str) -> None:
    if check == id_number[-1]:
        return
    with pytest.raises(InvalidIdNumber) as caught:
        normalize_id_number(IdType.CN_RESIDENT, id_number[:17] + check)
    assert caught.value.code == "INVALID_ID_NUMBER"
    assert caught.value.kind is ErrorKind.INVALID


@pytest.mark.parametrize(
    "id_number",
    [
        PUBLISHED_SAMPLE_ID[:17],  # 17 characters
        PUBLISHED_SAMPLE_ID + "1",  # 19 characters
        "0" + PUBLISHED_SAMPLE_ID[1:],  # starts with 0
        "1101051949123100X2",  # X not in the check position
        "11010519491231002Y",
        "",
    ],
)
def test_resident_id_of_the_wrong_shape_is_rejected(id_number: str) -> None:
    with pytest.raises(InvalidIdNumber, match="18 characters"):
        normalize_id_number(IdType.CN_RESIDENT, id_number)


@pytest.mark.parametrize(
    ("id_type", "id_number", "normalised"),
    [
        (IdType.PASSPORT, "e1234 5678", "E12345678"),
        (IdType.HK_MACAO_PERMIT, "H1234567890", "H1234567890"),
        (IdType.OTHER, "AB123", "AB123"),
    ],
)
def test_other_documents_need_only_5_to_20_letters_and_digits(
    id_type: IdType, id_number: str, normalised: str
) -> None:
    assert normalize_id_number(id_type, id_number) == normalised


@pytest.mark.parametrize("id_number", ["AB12", "A" * 21, "E1234/5678", "护照12345"])
def test_other_documents_outside_the_generic_shape_are_rejected(id_number: str) -> None:
    with pytest.raises(InvalidIdNumber):
        normalize_id_number(IdType.PASSPORT, id_number)


def test_resident_id_mask_keeps_four_characters_at_each_end() -> None:
    assert mask_id_number(PUBLISHED_SAMPLE_ID) == "1101**********002X"


@pytest.mark.parametrize(
    ("value", "masked"), [("E1234567", "E******7"), ("AB123", "A***3"), ("E12345678", "E123*5678")]
)
def test_short_document_numbers_keep_one_character_at_each_end(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked


@settings(max_examples=200, deadline=None)
@given(cn_resident_ids())
def test_resident_id_mask_hides_the_birth_date_and_sequence(id_number: str) -> None:
    masked = mask_id_number(id_number)
    assert len(masked) == 18
    assert masked[:4] == id_number[:4]
    assert masked[-4:] == id_number[-4:]
    assert masked[4:14] == "*" * 10


@settings(max_examples=200, deadline=None)
@given(cn_resident_ids())
def test_holder_ref_never_contains_the_raw_id(id_number: str) -> None:
    ref = holder_from_id(KEY, IdType.CN_RESIDENT, id_number)
    kept = [str(getattr(ref, f.name)) for f in dataclasses.fields(ref)] + [repr(ref)]
    birth_and_sequence = id_number[6:14]
    for text in kept:
        assert id_number not in text
        assert id_number[:17] not in text
        assert birth_and_sequence not in text
    assert ref.masked == mask_id_number(id_number)


def test_holder_ref_keeps_only_type_hashes_and_mask() -> None:
    names = {f.name for f in dataclasses.fields(HolderRef)}
    assert names == {"id_type", "id_hash", "suffix_hash", "masked"}


def test_holder_ref_is_frozen() -> None:
    ref = holder_from_id(KEY, IdType.CN_RESIDENT, PUBLISHED_SAMPLE_ID)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.masked = PUBLISHED_SAMPLE_ID  # type: ignore[misc]


def test_same_id_written_differently_gives_the_same_holder() -> None:
    plain = holder_from_id(KEY, IdType.CN_RESIDENT, PUBLISHED_SAMPLE_ID)
    messy = holder_from_id(KEY, "CN_RESIDENT", "110105 19491231 002x")
    assert plain == messy


def test_holder_hash_depends_on_the_server_key() -> None:
    one = holder_from_id(KEY, IdType.CN_RESIDENT, PUBLISHED_SAMPLE_ID)
    other = holder_from_id(b"another-secret", IdType.CN_RESIDENT, PUBLISHED_SAMPLE_ID)
    assert one.id_hash != other.id_hash
    assert one.suffix_hash != other.suffix_hash
    assert one.masked == other.masked


def test_same_number_on_different_documents_is_a_different_holder() -> None:
    passport = holder_from_id(KEY, IdType.PASSPORT, "E12345678")
    permit = holder_from_id(KEY, IdType.HK_MACAO_PERMIT, "E12345678")
    assert passport.id_hash != permit.id_hash
    assert passport.suffix_hash != permit.suffix_hash


def test_different_ids_give_different_hashes() -> None:
    one = holder_from_id(KEY, IdType.CN_RESIDENT, make_cn_id(sequence=1))
    two = holder_from_id(KEY, IdType.CN_RESIDENT, make_cn_id(sequence=2))
    assert one.id_hash != two.id_hash


def test_id_hash_and_suffix_hash_are_different_secrets() -> None:
    ref = holder_from_id(KEY, IdType.CN_RESIDENT, PUBLISHED_SAMPLE_ID)
    assert ref.id_hash != ref.suffix_hash
    assert len(ref.id_hash) == len(ref.suffix_hash) == 64


@pytest.mark.parametrize("suffix", ["31002X", "31002x", PUBLISHED_SAMPLE_ID])
def test_a_person_can_prove_the_last_six_characters(suffix: str) -> None:
    ref = holder_from_id(KEY, IdType.CN_RESIDENT, PUBLISHED_SAMPLE_ID)
    assert id_suffix_hash(KEY, IdType.CN_RESIDENT, suffix) == ref.suffix_hash


@pytest.mark.parametrize("suffix", ["31002", "310021", "131002"])
def test_a_wrong_suffix_does_not_match(suffix: str) -> None:
    ref = holder_from_id(KEY, IdType.CN_RESIDENT, PUBLISHED_SAMPLE_ID)
    assert id_suffix_hash(KEY, IdType.CN_RESIDENT, suffix) != ref.suffix_hash


def test_unknown_id_type_is_rejected_with_the_allowed_types() -> None:
    with pytest.raises(InvalidIdNumber, match="CN_RESIDENT") as caught:
        holder_from_id(KEY, "DRIVING_LICENCE", "AB12345")
    assert "PASSPORT" in caught.value.message


def test_invalid_resident_id_never_becomes_a_holder() -> None:
    with pytest.raises(InvalidIdNumber):
        holder_from_id(KEY, IdType.CN_RESIDENT, "110105194912310021")
