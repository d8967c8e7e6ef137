"""Test normalising, validating and classifying Chinese licence plates."""

# Full-width and look-alike characters are the input under test.
# ruff: noqa: RUF001

import pytest

from custom_components.smart_community.community.errors import InvalidPlateError
from custom_components.smart_community.community.plates import (
    PROVINCES,
    PlateKind,
    classify_plate,
    normalize_plate,
    validate_plate,
)


def test_provinces_are_the_31_mainland_abbreviations() -> None:
    """List each mainland province, region and municipality once."""
    assert len(PROVINCES) == 31
    assert len(set(PROVINCES)) == 31
    assert not set(PROVINCES) & set("港澳台使")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("粤B12345", "粤B12345"),
        ("粤b·12345", "粤B12345"),
        (" 粤B 12345 ", "粤B12345"),
        ("粤B-12345", "粤B12345"),
        ("粤B.12345", "粤B12345"),
        ("粤B•12345", "粤B12345"),
        ("粤B\u30fb12345", "粤B12345"),
        ("粤B\u201312345", "粤B12345"),
        ("粤Ｂ１２３４５", "粤B12345"),
        ("粤Ｂ－１２３４５", "粤B12345"),
        ("粤B\u300012345", "粤B12345"),
        ("粤b\t12 345\n", "粤B12345"),
        # Look-alikes stay: tolerant matching is a separate concern.
        ("粤BO2345", "粤BO2345"),
        ("粤Bi2345", "粤BI2345"),
    ],
)
def test_normalize_plate(text: str, expected: str) -> None:
    """Fold width and case, drop separators and spaces, and nothing else."""
    assert normalize_plate(text) == expected


@pytest.mark.parametrize(
    ("text", "plate", "kind"),
    [
        ("粤B12345", "粤B12345", PlateKind.ORDINARY),
        ("京A8Z9Y7", "京A8Z9Y7", PlateKind.ORDINARY),
        ("琼EABCDE", "琼EABCDE", PlateKind.ORDINARY),
        ("粤BD12345", "粤BD12345", PlateKind.NEW_ENERGY_SMALL),
        ("沪AFA1234", "沪AFA1234", PlateKind.NEW_ENERGY_SMALL),
        ("浙AA12345", "浙AA12345", PlateKind.NEW_ENERGY_SMALL),
        ("苏EKZ9876", "苏EKZ9876", PlateKind.NEW_ENERGY_SMALL),
        ("粤B12345D", "粤B12345D", PlateKind.NEW_ENERGY_LARGE),
        ("川A00001F", "川A00001F", PlateKind.NEW_ENERGY_LARGE),
        ("京A1234警", "京A1234警", PlateKind.POLICE),
        ("粤B1234学", "粤B1234学", PlateKind.COACH),
        ("粤B1234挂", "粤B1234挂", PlateKind.TRAILER),
        ("粤Z1234港", "粤Z1234港", PlateKind.HONG_KONG),
        ("粤Z1234澳", "粤Z1234澳", PlateKind.MACAU),
        ("沪A1234领", "沪A1234领", PlateKind.CONSULATE),
        ("京A1234试", "京A1234试", PlateKind.TEST),
        ("冀A1234超", "冀A1234超", PlateKind.OVERSIZE),
        ("使014578", "使014578", PlateKind.EMBASSY),
        ("粤ｂｄ１２３４５", "粤BD12345", PlateKind.NEW_ENERGY_SMALL),
        ("粤b 12345", "粤B12345", PlateKind.ORDINARY),
    ],
)
def test_valid_plates(text: str, plate: str, kind: PlateKind) -> None:
    """Accept each format of GA 36-2018 and return the normalised plate."""
    assert classify_plate(text) is kind
    assert validate_plate(text) == plate


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("·-", "empty"),
        ("港A12345", "province"),
        ("AB12345", "province"),
        ("粤", "letter A-Z"),
        ("粤112345", "letter A-Z"),
        ("粤B1234", "6 characters"),
        ("粤B1234567", "9 characters"),
        ("粤b·bd123·45", "9 characters"),
        ("沪AF0A123", "new-energy"),
        ("粤BI2345", "I and O"),
        ("粤BO2345", "I and O"),
        ("粤BD1234O", "I and O"),
        ("粤B123456", "new-energy"),
        ("粤BD1234A", "new-energy"),
        ("粤BL12345", "new-energy"),
        ("粤B12345A", "new-energy"),
        ("粤B1234民", "suffix"),
        ("粤B123警4", "suffix"),
        ("使01457", "embassy"),
        ("使A14578", "embassy"),
    ],
)
def test_invalid_plates(text: str, reason: str) -> None:
    """Reject everything else, saying why."""
    assert classify_plate(text) is None
    with pytest.raises(InvalidPlateError) as caught:
        validate_plate(text)
    assert reason in caught.value.reason
    assert caught.value.translation_key == "invalid_plate"
    assert caught.value.translation_placeholders == {
        "plate": text.strip() or normalize_plate(text)
    }


def test_invalid_plate_message_names_the_plate() -> None:
    """Give a readable English message with the plate as typed."""
    with pytest.raises(InvalidPlateError, match=r"'粤BI2345' is not a valid"):
        validate_plate(" 粤BI2345 ")
