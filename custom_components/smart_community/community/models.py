"""Define the immutable records the residents registry keeps."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
import re
from typing import Self, override
import unicodedata

from .errors import (
    InvalidCardError,
    InvalidHouseholdError,
    InvalidPhoneError,
    InvalidResidentError,
    InvalidValidityWindowError,
    InvalidVisitorPassError,
)
from .plates import validate_plate

TAG_ELDERLY_LIVING_ALONE = "elderly_living_alone"

MAX_ID_LENGTH = 64
MAX_NAME_LENGTH = 64
MAX_HOUSEHOLD_PART_LENGTH = 32
# An OCPP 1.6 idTag is a CiString20Type: at most 20 characters, case-insensitive.
MAX_CARD_LENGTH = 20

# These separate household parts in "3-2-1201" and list items in CSV cells.
_HOUSEHOLD_FORBIDDEN = frozenset("-,;")
_TAG = re.compile("[a-z0-9_]+")
# A Home Assistant service: lowercase words joined by single underscores, twice,
# separated by a dot (notify.mobile_app_zhang_san).
_SERVICE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*\.[a-z0-9]+(?:_[a-z0-9]+)*")
_PHONE_SEPARATORS = str.maketrans("", "", " -()")
_MOBILE = re.compile(r"(\+86|0086)?(1[3-9][0-9]{9})")
# Area codes are 010 and 02x with 8-digit numbers, or 0xxx with 7 or 8 digits.
_LANDLINE = re.compile(r"0(?:10|2[0-9])[0-9]{8}|0[3-9][0-9]{2}[0-9]{7,8}")


def _is_clean_text(text: str) -> bool:
    """Tell whether text has no control characters and no line breaks."""
    return text.isprintable()


def normalize_resident_id(text: str) -> str:
    """Return a resident ID without surrounding spaces, or raise InvalidResidentError."""
    resident_id = text.strip()
    if not resident_id:
        raise InvalidResidentError("the resident ID is empty", "resident_id")
    if (
        len(resident_id) > MAX_ID_LENGTH
        or not _is_clean_text(resident_id)
        or any(char.isspace() for char in resident_id)
    ):
        raise InvalidResidentError(
            f"the resident ID {resident_id!r} must be at most {MAX_ID_LENGTH} "
            "printable characters without spaces",
            "resident_id",
        )
    return resident_id


def normalize_name(text: str) -> str:
    """Return a resident's name without surrounding spaces, or raise InvalidResidentError."""
    name = text.strip()
    if not name:
        raise InvalidResidentError("the name is empty", "name")
    if len(name) > MAX_NAME_LENGTH or not _is_clean_text(name):
        raise InvalidResidentError(
            f"the name must be at most {MAX_NAME_LENGTH} printable characters on one line",
            "name",
        )
    return name


def normalize_phone(text: str) -> str:
    """Return a phone number as digits with an optional leading +, or raise InvalidPhoneError.

    Mainland mobiles may carry +86 or 0086 (kept as +86); landlines carry their
    area code (010-12345678 becomes 01012345678). Spaces, dashes and brackets go.
    """

    compact = "".join(
        unicodedata.normalize("NFKC", text).translate(_PHONE_SEPARATORS).split()
    )
    if mobile := _MOBILE.fullmatch(compact):
        return mobile[2] if mobile[1] is None else f"+86{mobile[2]}"
    if _LANDLINE.fullmatch(compact):
        return compact
    raise InvalidPhoneError(text.strip())


def normalize_tags(tags: Iterable[str]) -> frozenset[str]:
    """Return tags as lowercase slugs, skipping blank ones, or raise InvalidResidentError."""
    if isinstance(tags, str):
        tags = (tags,)
    result: set[str] = set()
    for raw in tags:
        tag = raw.strip().lower()
        if not tag:
            continue
        if len(tag) > MAX_ID_LENGTH or not _TAG.fullmatch(tag):
            raise InvalidResidentError(
                f"the tag {raw.strip()!r} is not a slug of a-z, 0-9 and _", "tags"
            )
        result.add(tag)
    return frozenset(result)


def normalize_notify_targets(targets: Iterable[str]) -> tuple[str, ...]:
    """Return notify services in order without repeats, or raise InvalidResidentError."""
    if isinstance(targets, str):
        targets = (targets,)
    result: dict[str, None] = {}
    for raw in targets:
        target = raw.strip().lower()
        if not target:
            continue
        if len(target) > 2 * MAX_ID_LENGTH or not _SERVICE.fullmatch(target):
            raise InvalidResidentError(
                f"the notify target {raw.strip()!r} is not a service such as "
                "notify.mobile_app_zhang_san",
                "notify_targets",
            )
        result[target] = None
    return tuple(result)


def normalize_card(text: str) -> str:
    """Return a card number (an OCPP idTag) as the registry keys it, or raise InvalidCardError.

    Full-width characters are folded and surrounding spaces go; what is left must
    be 1 to 20 printable ASCII characters without spaces, and is upper-cased
    because OCPP compares idTags without regard to case.
    """

    card = unicodedata.normalize("NFKC", text).strip()
    if not card:
        raise InvalidCardError(card, "the card number is empty")
    if len(card) > MAX_CARD_LENGTH:
        raise InvalidCardError(
            card, f"it has {len(card)} characters, at most {MAX_CARD_LENGTH} fit"
        )
    if not all("!" <= char <= "~" for char in card):
        raise InvalidCardError(
            card, "only printable ASCII characters without spaces are allowed"
        )
    return card.upper()


def require_aware(when: datetime) -> None:
    """Refuse a naive instant; comparing it with stored passes would be a guess."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when.isoformat()} has no time zone; give an aware datetime")


@dataclass(slots=True, frozen=True)
class Household:
    """Address a flat as building, unit and room, written "3-2-1201"."""

    building: str
    unit: str
    room: str

    def __post_init__(self) -> None:
        """Fold full-width characters and surrounding spaces, then check each part."""
        address = f"{self.building}-{self.unit}-{self.room}"
        for part in ("building", "unit", "room"):
            value = unicodedata.normalize("NFKC", getattr(self, part)).strip()
            if not value:
                raise InvalidHouseholdError(address, f"the {part} is empty", part)
            if (
                len(value) > MAX_HOUSEHOLD_PART_LENGTH
                or not _is_clean_text(value)
                or any(char in _HOUSEHOLD_FORBIDDEN or char.isspace() for char in value)
            ):
                raise InvalidHouseholdError(
                    address,
                    f"the {part} {value!r} must be at most {MAX_HOUSEHOLD_PART_LENGTH} "
                    "characters without spaces, '-', ',' or ';'",
                    part,
                )
            object.__setattr__(self, part, value)

    @override
    def __str__(self) -> str:
        """Write the address as building-unit-room."""
        return f"{self.building}-{self.unit}-{self.room}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """Read an address written as building-unit-room, such as "3-2-1201"."""
        parts = unicodedata.normalize("NFKC", text).strip().split("-")
        if len(parts) != 3:
            raise InvalidHouseholdError(
                text, "write it as building-unit-room, such as 3-2-1201"
            )
        building, unit, room = parts
        return cls(building, unit, room)


@dataclass(slots=True, frozen=True)
class Resident:
    """Describe one person living in the community."""

    resident_id: str
    name: str
    household: Household
    phone: str | None
    tags: frozenset[str]
    notify_targets: tuple[str, ...]

    def __post_init__(self) -> None:
        """Normalise every field, raising a CommunityError for the first bad one."""
        object.__setattr__(self, "resident_id", normalize_resident_id(self.resident_id))
        object.__setattr__(self, "name", normalize_name(self.name))
        if self.phone is not None:
            phone = normalize_phone(self.phone) if self.phone.strip() else None
            object.__setattr__(self, "phone", phone)
        object.__setattr__(self, "tags", normalize_tags(self.tags))
        object.__setattr__(
            self, "notify_targets", normalize_notify_targets(self.notify_targets)
        )


@dataclass(slots=True, frozen=True)
class Vehicle:
    """Register a resident's vehicle under its normalised plate."""

    plate: str
    resident_id: str
    label: str | None = None

    def __post_init__(self) -> None:
        """Normalise the plate and owner; a blank label becomes None."""
        object.__setattr__(self, "plate", validate_plate(self.plate))
        object.__setattr__(self, "resident_id", normalize_resident_id(self.resident_id))
        if self.label is not None:
            object.__setattr__(self, "label", self.label.strip() or None)


@dataclass(slots=True, frozen=True)
class Card:
    """Register a resident's charging or access card under its normalised number."""

    card: str
    resident_id: str
    label: str | None = None

    def __post_init__(self) -> None:
        """Normalise the card number and owner; a blank label becomes None."""
        object.__setattr__(self, "card", normalize_card(self.card))
        object.__setattr__(self, "resident_id", normalize_resident_id(self.resident_id))
        if self.label is not None:
            object.__setattr__(self, "label", self.label.strip() or None)


@dataclass(slots=True, frozen=True)
class VisitorPass:
    """Let a visitor (and optionally their car) in for a window of time."""

    pass_id: str
    visitor_name: str
    plate: str | None
    host_resident_id: str
    valid_from: datetime
    valid_until: datetime

    def __post_init__(self) -> None:
        """Normalise the fields and check the window: aware, and ending after it starts."""
        pass_id = self.pass_id.strip()
        if not pass_id or len(pass_id) > MAX_ID_LENGTH or not _is_clean_text(pass_id):
            raise InvalidVisitorPassError(
                f"the pass ID must be 1 to {MAX_ID_LENGTH} printable characters"
            )
        object.__setattr__(self, "pass_id", pass_id)
        visitor_name = self.visitor_name.strip()
        if (
            not visitor_name
            or len(visitor_name) > MAX_NAME_LENGTH
            or not _is_clean_text(visitor_name)
        ):
            raise InvalidVisitorPassError(
                f"the visitor's name must be 1 to {MAX_NAME_LENGTH} printable characters"
            )
        object.__setattr__(self, "visitor_name", visitor_name)
        if self.plate is not None:
            plate = validate_plate(self.plate) if self.plate.strip() else None
            object.__setattr__(self, "plate", plate)
        object.__setattr__(
            self, "host_resident_id", normalize_resident_id(self.host_resident_id)
        )
        for instant in (self.valid_from, self.valid_until):
            if instant.tzinfo is None or instant.utcoffset() is None:
                raise InvalidValidityWindowError(
                    self.valid_from, self.valid_until, "times must carry a time zone"
                )
        if self.valid_until <= self.valid_from:
            raise InvalidValidityWindowError(
                self.valid_from, self.valid_until, "the pass must end after it starts"
            )

    def is_valid_at(self, when: datetime) -> bool:
        """Tell whether the pass lets its visitor in at an aware instant."""
        require_aware(when)
        return self.valid_from <= when < self.valid_until


@dataclass(slots=True, frozen=True)
class BlockedPlate:
    """Keep a vehicle out whoever owns it, with the manager's reason."""

    plate: str
    reason: str | None = None

    def __post_init__(self) -> None:
        """Normalise the plate; a blank reason becomes None."""
        object.__setattr__(self, "plate", validate_plate(self.plate))
        if self.reason is not None:
            reason = self.reason.strip()
            if len(reason) > MAX_NAME_LENGTH or not _is_clean_text(reason):
                raise InvalidResidentError(
                    f"the reason must be at most {MAX_NAME_LENGTH} printable "
                    "characters on one line",
                    "reason",
                )
            object.__setattr__(self, "reason", reason or None)
