"""Test the records of the registry: households, residents, vehicles, cards, passes."""

# Full-width and look-alike characters are the input under test.
# ruff: noqa: RUF001

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta, timezone

import pytest

from custom_components.smart_community.community.errors import (
    InvalidCardError,
    InvalidHouseholdError,
    InvalidPhoneError,
    InvalidPlateError,
    InvalidResidentError,
    InvalidValidityWindowError,
    InvalidVisitorPassError,
)
from custom_components.smart_community.community.models import (
    TAG_ELDERLY_LIVING_ALONE,
    Card,
    Household,
    Resident,
    Vehicle,
    VisitorPass,
    normalize_card,
    normalize_notify_targets,
    normalize_phone,
    normalize_tags,
)

CHINA = timezone(timedelta(hours=8))
START = datetime(2025, 3, 1, 9, 0, tzinfo=CHINA)
END = datetime(2025, 3, 1, 18, 0, tzinfo=CHINA)


def resident(**changes: object) -> Resident:
    """Build a resident, overriding some fields."""
    fields: dict[str, object] = {
        "resident_id": "r1",
        "name": "张三",
        "household": Household("3", "2", "1201"),
        "phone": None,
        "tags": frozenset(),
        "notify_targets": (),
    } | changes
    return Resident(**fields)  # type: ignore[arg-type]


# Households ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3-2-1201", Household("3", "2", "1201")),
        (" 3 - 2 - 1201 ", Household("3", "2", "1201")),
        ("３－２－１２０１", Household("3", "2", "1201")),
        ("A座-1单元-1201", Household("A座", "1单元", "1201")),
    ],
)
def test_household_parse(text: str, expected: Household) -> None:
    """Read building-unit-room, folding full-width characters and spaces."""
    household = Household.parse(text)
    assert household == expected
    assert Household.parse(str(household)) == household


def test_household_str() -> None:
    """Write the address as building-unit-room."""
    assert str(Household("3", "2", "1201")) == "3-2-1201"


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("3-2", None),
        ("3-2-1-1", None),
        ("", None),
        ("-2-1201", "building"),
        ("3- -1201", "unit"),
        ("3-2-", "room"),
    ],
)
def test_household_parse_rejects(text: str, part: str | None) -> None:
    """Refuse addresses without exactly three non-empty parts."""
    with pytest.raises(InvalidHouseholdError) as caught:
        Household.parse(text)
    assert caught.value.part == part
    assert caught.value.translation_key == "invalid_household"
    assert caught.value.translation_placeholders == {"household": text}


@pytest.mark.parametrize(
    ("parts", "part"),
    [
        (("3,4", "2", "1201"), "building"),
        (("3", "2;", "1201"), "unit"),
        (("3", "2", "12-01"), "room"),
        (("3", "2", "12 01"), "room"),
        (("3", "2", "12\n01"), "room"),
        (("3" * 33, "2", "1201"), "building"),
    ],
)
def test_household_rejects_separators(parts: tuple[str, str, str], part: str) -> None:
    """Refuse separators, spaces and over-long parts, naming the part."""
    with pytest.raises(InvalidHouseholdError) as caught:
        Household(*parts)
    assert caught.value.part == part
    assert caught.value.translation_placeholders == {"household": "-".join(parts)}


def test_household_is_frozen_and_hashable() -> None:
    """Use households as set members and dict keys."""
    household = Household("3", "2", "1201")
    assert {household, Household(" 3", "2 ", "1201")} == {household}
    with pytest.raises(FrozenInstanceError):
        household.room = "1202"  # type: ignore[misc]


# Phones ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("0086-13800138000", "+8613800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("19912345678", "19912345678"),
        ("010-12345678", "01012345678"),
        ("(010) 8765 4321", "01087654321"),
        ("020-12345678", "02012345678"),
        ("0755-1234567", "07551234567"),
        ("0755-12345678", "075512345678"),
    ],
)
def test_phone_accepts(text: str, expected: str) -> None:
    """Accept mainland mobiles and landlines, keeping digits and a leading +."""
    assert normalize_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12800138000",
        "1380013800",
        "138001380001",
        "+85291234567",
        "+86 010 12345678",
        "010-1234567",
        "0755-123456",
        "12345",
        "phone",
        "13800138000 ext 1",
        "١٣٨٠٠١٣٨٠٠٠",
    ],
)
def test_phone_rejects(text: str) -> None:
    """Reject anything that is not a mainland mobile or landline."""
    with pytest.raises(InvalidPhoneError) as caught:
        normalize_phone(text)
    assert caught.value.translation_key == "invalid_phone"
    assert caught.value.translation_placeholders == {"phone": text.strip()}


# Residents -------------------------------------------------------------------


def test_resident_normalises_fields() -> None:
    """Strip text, normalise the phone, lower-case tags, de-duplicate targets."""
    result = resident(
        resident_id=" r1 ",
        name=" 张三 ",
        phone="+86 138 0013 8000",
        tags=frozenset({" Elderly_Living_Alone ", ""}),
        notify_targets=(
            "notify.mobile_app_zhang_san",
            " Notify.Family ",
            " ",
            "notify.family",
        ),
    )
    assert result.resident_id == "r1"
    assert result.name == "张三"
    assert result.phone == "+8613800138000"
    assert result.tags == frozenset({TAG_ELDERLY_LIVING_ALONE})
    assert result.notify_targets == ("notify.mobile_app_zhang_san", "notify.family")


def test_resident_blank_phone_is_none() -> None:
    """Treat a blank phone as no phone."""
    assert resident(phone="  ").phone is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"resident_id": ""}, "resident_id"),
        ({"resident_id": "a b"}, "resident_id"),
        ({"resident_id": "x" * 65}, "resident_id"),
        ({"resident_id": "a\x00"}, "resident_id"),
        ({"name": "  "}, "name"),
        ({"name": "张\n三"}, "name"),
        ({"name": "张" * 65}, "name"),
        ({"tags": frozenset({"独居"})}, "tags"),
        ({"tags": frozenset({"living alone"})}, "tags"),
        ({"tags": frozenset({"a-b"})}, "tags"),
        ({"notify_targets": ("mobile_app_zhang_san",)}, "notify_targets"),
        ({"notify_targets": ("notify.",)}, "notify_targets"),
        ({"notify_targets": ("notify._x",)}, "notify_targets"),
        ({"notify_targets": ("notify.a__b",)}, "notify_targets"),
        ({"notify_targets": ("notify.a.b",)}, "notify_targets"),
        ({"notify_targets": ("notify.张三",)}, "notify_targets"),
    ],
)
def test_resident_rejects(changes: dict[str, object], field: str) -> None:
    """Raise InvalidResidentError naming the bad field."""
    with pytest.raises(InvalidResidentError) as caught:
        resident(**changes)
    assert caught.value.field == field
    assert caught.value.translation_key == "invalid_resident"
    assert caught.value.translation_placeholders == {"reason": caught.value.reason}


def test_resident_rejects_bad_phone() -> None:
    """Raise InvalidPhoneError for a bad phone."""
    with pytest.raises(InvalidPhoneError):
        resident(phone="110")


def test_tags_and_targets_accept_a_lone_string() -> None:
    """Treat a single string as one item, not as its characters."""
    assert normalize_tags("vip") == frozenset({"vip"})
    assert normalize_notify_targets("notify.family") == ("notify.family",)


# Vehicles --------------------------------------------------------------------


def test_vehicle_normalises() -> None:
    """Store the normalised plate; a blank label becomes None."""
    vehicle = Vehicle("粤b·12345", " r1 ", "  ")
    assert vehicle == Vehicle("粤B12345", "r1")
    assert vehicle.label is None
    assert Vehicle("粤B12345", "r1", " 白色特斯拉 ").label == "白色特斯拉"


def test_vehicle_rejects_bad_plate() -> None:
    """Refuse a vehicle with an invalid plate."""
    with pytest.raises(InvalidPlateError):
        Vehicle("粤B1234", "r1")


# Cards -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("04a1b2c3", "04A1B2C3"),
        (" 04A1B2C3\n", "04A1B2C3"),
        ("０４ａ１ｂ２", "04A1B2"),
        ("x" * 20, "X" * 20),
        ("A", "A"),
        ("card#1-(b)_~!", "CARD#1-(B)_~!"),
    ],
)
def test_card_accepts(text: str, expected: str) -> None:
    """Fold width, spaces around and case; keep any printable ASCII."""
    assert normalize_card(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "x" * 21,
        "04A1 B2C3",
        "04A1\tB2C3",
        "04A1　B2C3",
        "卡04A1",
        "straße",
        "ı",
        "04A1\x00",
    ],
)
def test_card_rejects(text: str) -> None:
    """Refuse empty, long, spaced and non-ASCII card numbers, saying why."""
    with pytest.raises(InvalidCardError) as caught:
        normalize_card(text)
    assert caught.value.translation_key == "invalid_card"
    assert caught.value.reason
    assert str(caught.value).startswith(repr(caught.value.card))


def test_card_normalises() -> None:
    """Store the normalised number; a blank label becomes None."""
    card = Card("04a1b2c3", " r1 ", "  ")
    assert card == Card("04A1B2C3", "r1")
    assert card.label is None
    assert Card("04A1B2C3", "r1", " 妈妈的卡 ").label == "妈妈的卡"
    with pytest.raises(FrozenInstanceError):
        card.card = "X"  # type: ignore[misc]


def test_card_rejects_bad_number_and_owner() -> None:
    """Refuse a card with an invalid number or resident ID."""
    with pytest.raises(InvalidCardError):
        Card("04 A1", "r1")
    with pytest.raises(InvalidResidentError):
        Card("04A1", " ")


# Visitor passes --------------------------------------------------------------


def visitor_pass(**changes: object) -> VisitorPass:
    """Build a visitor pass, overriding some fields."""
    fields: dict[str, object] = {
        "pass_id": "p1",
        "visitor_name": "李四",
        "plate": None,
        "host_resident_id": "r1",
        "valid_from": START,
        "valid_until": END,
    } | changes
    return VisitorPass(**fields)  # type: ignore[arg-type]


def test_visitor_pass_window_is_half_open() -> None:
    """Let the visitor in from the start up to, not including, the end."""
    result = visitor_pass()
    assert not result.is_valid_at(START - timedelta(microseconds=1))
    assert result.is_valid_at(START)
    assert result.is_valid_at(START.astimezone(UTC))
    assert result.is_valid_at(END - timedelta(microseconds=1))
    assert not result.is_valid_at(END)


def test_visitor_pass_rejects_naive_query() -> None:
    """Refuse to compare with a naive instant."""
    with pytest.raises(ValueError, match="no time zone"):
        visitor_pass().is_valid_at(datetime(2025, 3, 1, 12))


def test_visitor_pass_normalises() -> None:
    """Strip text and normalise the plate; a blank plate becomes None."""
    result = visitor_pass(pass_id=" p1 ", visitor_name=" 李四 ", plate="粤b·12345")
    assert (result.pass_id, result.visitor_name, result.plate) == (
        "p1",
        "李四",
        "粤B12345",
    )
    assert visitor_pass(plate=" ").plate is None


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "reason"),
    [
        (END, START, "end after it starts"),
        (START, START, "end after it starts"),
        (START.replace(tzinfo=None), END, "time zone"),
        (START, END.replace(tzinfo=None), "time zone"),
    ],
)
def test_visitor_pass_rejects_window(
    valid_from: datetime, valid_until: datetime, reason: str
) -> None:
    """Refuse empty, reversed and naive windows."""
    with pytest.raises(InvalidValidityWindowError) as caught:
        visitor_pass(valid_from=valid_from, valid_until=valid_until)
    assert reason in caught.value.reason
    assert caught.value.translation_key == "invalid_validity_window"
    assert caught.value.translation_placeholders == {
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat(),
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"pass_id": " "},
        {"pass_id": "p" * 65},
        {"visitor_name": ""},
        {"visitor_name": "李\t四"},
    ],
)
def test_visitor_pass_rejects_fields(changes: dict[str, object]) -> None:
    """Refuse a blank or unprintable pass ID or visitor name."""
    with pytest.raises(InvalidVisitorPassError) as caught:
        visitor_pass(**changes)
    assert caught.value.translation_key == "invalid_visitor_pass"
    assert set(caught.value.translation_placeholders) == {"reason"}


def test_visitor_pass_rejects_bad_plate() -> None:
    """Refuse a pass with an invalid plate."""
    with pytest.raises(InvalidPlateError):
        visitor_pass(plate="ABC")
