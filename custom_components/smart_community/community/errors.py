"""Define the errors raised by the residents registry and its CSV import."""

from dataclasses import dataclass
from datetime import datetime
from typing import override


class CommunityError(Exception):
    """Signal community data that breaks a rule the user can fix.

    The English message is for logs; Home Assistant shows the translation named by
    ``translation_key``, filled in with ``translation_placeholders``.
    """

    def __init__(
        self,
        message: str,
        *,
        translation_key: str,
        translation_placeholders: dict[str, str] | None = None,
    ) -> None:
        """Keep the English message and what a translation needs."""
        super().__init__(message)
        self.translation_key = translation_key
        self.translation_placeholders = dict(translation_placeholders or {})


class InvalidPlateError(CommunityError):
    """Reject text that is not a Chinese licence plate."""

    def __init__(self, plate: str, reason: str) -> None:
        """Name the plate and what is wrong with it."""
        super().__init__(
            f"{plate!r} is not a valid Chinese licence plate: {reason}",
            translation_key="invalid_plate",
            translation_placeholders={"plate": plate},
        )
        self.plate = plate
        self.reason = reason


class DuplicatePlateError(CommunityError):
    """Reject a plate that is already registered."""

    def __init__(self, plate: str, detail: str | None = None) -> None:
        """Name the plate, and optionally where it is already used."""
        message = f"The plate {plate} is already registered"
        super().__init__(
            f"{message} ({detail})" if detail else message,
            translation_key="duplicate_plate",
            translation_placeholders={"plate": plate},
        )
        self.plate = plate


class UnknownVehicleError(CommunityError):
    """Report that no vehicle has a plate."""

    def __init__(self, plate: str) -> None:
        """Name the plate that was looked for."""
        super().__init__(
            f"No vehicle with the plate {plate!r} is registered",
            translation_key="unknown_vehicle",
            translation_placeholders={"plate": plate},
        )
        self.plate = plate


class InvalidCardError(CommunityError):
    """Reject text that cannot be a charging or access card number (an OCPP idTag)."""

    def __init__(self, card: str, reason: str) -> None:
        """Name the card number and what is wrong with it."""
        super().__init__(
            f"{card!r} is not a valid card number: {reason}",
            translation_key="invalid_card",
            translation_placeholders={"card": card},
        )
        self.card = card
        self.reason = reason


class DuplicateCardError(CommunityError):
    """Reject a card that is already registered."""

    def __init__(self, card: str, resident_id: str) -> None:
        """Name the card and the resident it is registered to."""
        super().__init__(
            f"The card {card} is already registered to resident {resident_id}",
            translation_key="duplicate_card",
            translation_placeholders={"card": card, "resident_id": resident_id},
        )
        self.card = card
        self.resident_id = resident_id


class UnknownCardError(CommunityError):
    """Report that no card has a number."""

    def __init__(self, card: str) -> None:
        """Name the card number that was looked for."""
        super().__init__(
            f"No card with the number {card!r} is registered",
            translation_key="unknown_card",
            translation_placeholders={"card": card},
        )
        self.card = card


class UnknownResidentError(CommunityError):
    """Report that no resident has an ID."""

    def __init__(self, resident_id: str) -> None:
        """Name the resident ID that was looked for."""
        super().__init__(
            f"No resident with the ID {resident_id!r} exists",
            translation_key="unknown_resident",
            translation_placeholders={"resident_id": resident_id},
        )
        self.resident_id = resident_id


class DuplicateResidentError(CommunityError):
    """Reject a resident ID that is already taken."""

    def __init__(self, resident_id: str, detail: str | None = None) -> None:
        """Name the resident ID, and optionally where it is already used."""
        message = f"A resident with the ID {resident_id!r} already exists"
        super().__init__(
            f"{message} ({detail})" if detail else message,
            translation_key="duplicate_resident",
            translation_placeholders={"resident_id": resident_id},
        )
        self.resident_id = resident_id


class InvalidHouseholdError(CommunityError):
    """Reject a household address (building, unit, room) that cannot be used."""

    def __init__(self, household: str, reason: str, part: str | None = None) -> None:
        """Name the address, what is wrong and which part (building, unit, room)."""
        super().__init__(
            f"{household!r} is not a valid household: {reason}",
            translation_key="invalid_household",
            translation_placeholders={"household": household},
        )
        self.household = household
        self.reason = reason
        self.part = part


class InvalidPhoneError(CommunityError):
    """Reject a phone number that is neither a mainland mobile nor a landline."""

    def __init__(self, phone: str) -> None:
        """Name the rejected phone number."""
        super().__init__(
            f"{phone!r} is not a mainland China mobile or landline number",
            translation_key="invalid_phone",
            translation_placeholders={"phone": phone},
        )
        self.phone = phone


class InvalidResidentError(CommunityError):
    """Reject a resident field (ID, name, tags, notify targets) that breaks a rule."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        """Say what is wrong and, when known, with which field."""
        super().__init__(
            f"Invalid resident: {reason}",
            translation_key="invalid_resident",
            translation_placeholders={"reason": reason},
        )
        self.reason = reason
        self.field = field


class InvalidValidityWindowError(CommunityError):
    """Reject a visitor pass window that is empty, reversed or has naive times."""

    def __init__(
        self, valid_from: datetime, valid_until: datetime, reason: str
    ) -> None:
        """Name the window and what is wrong with it."""
        start, end = valid_from.isoformat(), valid_until.isoformat()
        super().__init__(
            f"Invalid validity window {start} to {end}: {reason}",
            translation_key="invalid_validity_window",
            translation_placeholders={"valid_from": start, "valid_until": end},
        )
        self.reason = reason


class InvalidVisitorPassError(CommunityError):
    """Reject a visitor pass field (ID, visitor name) that breaks a rule."""

    def __init__(self, reason: str) -> None:
        """Say what is wrong with the pass."""
        super().__init__(
            f"Invalid visitor pass: {reason}",
            translation_key="invalid_visitor_pass",
            translation_placeholders={"reason": reason},
        )
        self.reason = reason


class UnknownVisitorPassError(CommunityError):
    """Report that no visitor pass has an ID."""

    def __init__(self, pass_id: str) -> None:
        """Name the pass ID that was looked for."""
        super().__init__(
            f"No visitor pass with the ID {pass_id!r} exists",
            translation_key="unknown_visitor_pass",
            translation_placeholders={"pass_id": pass_id},
        )
        self.pass_id = pass_id


class DuplicateVisitorPassError(CommunityError):
    """Reject a visitor pass ID that is already taken."""

    def __init__(self, pass_id: str) -> None:
        """Name the pass ID that is taken."""
        super().__init__(
            f"A visitor pass with the ID {pass_id!r} already exists",
            translation_key="duplicate_visitor_pass",
            translation_placeholders={"pass_id": pass_id},
        )
        self.pass_id = pass_id


class UnknownBlockedPlateError(CommunityError):
    """Report that a plate is not on the blocklist."""

    def __init__(self, plate: str) -> None:
        """Name the plate that was looked for."""
        super().__init__(
            f"The plate {plate!r} is not on the blocklist",
            translation_key="plate_not_blocked",
            translation_placeholders={"plate": plate},
        )
        self.plate = plate


class InvalidStoredDataError(CommunityError):
    """Reject stored registry data that is corrupt or from an unknown version."""

    def __init__(self, reason: str) -> None:
        """Say what is wrong with the stored data."""
        super().__init__(
            f"The stored residents registry cannot be read: {reason}",
            translation_key="invalid_stored_data",
            translation_placeholders={"reason": reason},
        )
        self.reason = reason


class CsvFormatError(CommunityError):
    """Reject a CSV file that cannot be read as a table of residents."""

    def __init__(self, reason: str) -> None:
        """Say why the file cannot be read."""
        super().__init__(
            f"The CSV file cannot be read: {reason}",
            translation_key="csv_format",
            translation_placeholders={"reason": reason},
        )
        self.reason = reason


@dataclass(slots=True, frozen=True)
class CsvRowError:
    """Locate one problem of a CSV import.

    ``row`` is the 1-based line number in the file where the record starts (the
    header is line 1); ``column`` is the canonical column name, or None when the
    problem concerns the whole row.
    """

    row: int
    column: str | None
    error: CommunityError

    @override
    def __str__(self) -> str:
        """Describe the problem with its line and column."""
        where = (
            f"line {self.row}"
            if self.column is None
            else f"line {self.row}, column {self.column}"
        )
        return f"{where}: {self.error}"


class CsvImportError(CommunityError):
    """Refuse a whole CSV import because some rows are invalid."""

    # The English message lists this many problems; the rest are counted.
    MAX_LISTED = 10

    def __init__(self, row_errors: list[CsvRowError]) -> None:
        """Keep every problem, in file order; count the rows that have one."""
        self.row_errors = sorted(row_errors, key=lambda row_error: row_error.row)
        count = len({row_error.row for row_error in self.row_errors})
        listed = "; ".join(
            str(row_error) for row_error in self.row_errors[: self.MAX_LISTED]
        )
        if (more := len(self.row_errors) - self.MAX_LISTED) > 0:
            listed += f"; and {more} more"
        super().__init__(
            f"Nothing was imported: {count} rows have errors: {listed}",
            translation_key="csv_import_failed",
            translation_placeholders={"count": str(count)},
        )
