"""Import and export residents and their plates as CSV, as Chinese Excel writes it."""

import codecs
from collections.abc import Callable, Sequence
import csv
from dataclasses import dataclass, field
from functools import partial
import io
import re
from typing import Final
from uuid import uuid4

from .errors import (
    CommunityError,
    CsvFormatError,
    CsvImportError,
    CsvRowError,
    DuplicatePlateError,
    DuplicateResidentError,
    InvalidHouseholdError,
)
from .models import (
    Household,
    Resident,
    normalize_name,
    normalize_notify_targets,
    normalize_phone,
    normalize_resident_id,
    normalize_tags,
)
from .plates import validate_plate
from .registry import ResidentRecord, ResidentsRegistry

COLUMNS: Final = (
    "resident_id",
    "name",
    "building",
    "unit",
    "room",
    "phone",
    "tags",
    "notify_targets",
    "plates",
)
REQUIRED_COLUMNS: Final = ("name", "building", "unit", "room")
# Header names used by Chinese property-management spreadsheets.
COLUMN_ALIASES: Final = {
    "编号": "resident_id",
    "姓名": "name",
    "楼栋": "building",
    "单元": "unit",
    "房号": "room",
    "电话": "phone",
    "手机": "phone",
    "标签": "tags",
    "通知": "notify_targets",
    "车牌": "plates",
}
EXPORT_ENCODINGS: Final = frozenset({"utf-8", "utf-8-sig", "gb18030"})

# List cells are split on ASCII or full-width (U+FF1B, U+FF0C) semicolons and commas,
# and on the enumeration comma 、 (U+3001) that Chinese input methods type.
_LIST_SEPARATOR = re.compile("[;\uff1b,\uff0c\u3001]")


@dataclass(slots=True, frozen=True)
class ImportReport:
    """Count what an import changed and name the columns it ignored."""

    added: int
    updated: int
    removed: int
    vehicles: int
    ignored_columns: tuple[str, ...] = ()


@dataclass(slots=True)
class _Row:
    """Hold what could be read from one CSV record, valid or not."""

    line: int
    resident_id: str | None = None
    resident: Resident | None = None
    plates: list[str] | None = None
    errors: list[CsvRowError] = field(default_factory=list)


def decode_csv_bytes(data: bytes) -> str:
    """Decode a CSV file: UTF-8 with or without BOM, otherwise GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        if (text := _decode(data[len(codecs.BOM_UTF8) :], "utf-8")) is None:
            raise CsvFormatError(
                "it starts with a UTF-8 byte order mark but is not valid UTF-8"
            )
        return text
    # GB18030 includes GBK and GB2312, which Excel uses for "CSV" on Chinese Windows.
    for encoding in ("utf-8", "gb18030"):
        if (text := _decode(data, encoding)) is not None:
            return text
    raise CsvFormatError("it is neither UTF-8 nor GB18030 (GBK) text")


def _decode(data: bytes, encoding: str) -> str | None:
    """Decode bytes strictly, or return None."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _split_list(cell: str) -> list[str]:
    """Split a list cell into its non-blank items."""
    return [item.strip() for item in _LIST_SEPARATOR.split(cell) if item.strip()]


def _read_header(header: Sequence[str]) -> tuple[dict[str, int], tuple[str, ...]]:
    """Map canonical column names to their positions; name the ignored columns."""
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header):
        title = raw.strip().lstrip("\ufeff").strip()
        column = COLUMN_ALIASES.get(title, title.lower())
        if column not in COLUMNS:
            if title:
                ignored.append(title)
            continue
        if column in positions:
            raise CsvFormatError(f"the column {column} appears twice (as {title!r})")
        positions[column] = index
    if missing := [column for column in REQUIRED_COLUMNS if column not in positions]:
        raise CsvFormatError(f"the required columns {', '.join(missing)} are missing")
    return positions, tuple(ignored)


def _check[T](row: _Row, column: str, read: Callable[[], T]) -> T | None:
    """Read one field; on a CommunityError note it against the column."""
    try:
        return read()
    except CommunityError as err:
        row.errors.append(CsvRowError(row.line, column, err))
        return None


def _read_row(
    registry: ResidentsRegistry,
    line: int,
    cells: list[str],
    positions: dict[str, int],
    width: int,
) -> _Row:
    """Read and validate one record into a resident and their plates."""
    row = _Row(line)
    if any(cell.strip() for cell in cells[width:]):
        row.errors.append(
            CsvRowError(
                line,
                None,
                CsvFormatError(
                    f"the row has {len(cells)} cells but the header only {width}"
                ),
            )
        )

    def cell(column: str) -> str:
        """Return a column's text, blank when the column or cell is missing."""
        index = positions.get(column)
        return cells[index] if index is not None and index < len(cells) else ""

    if raw_id := cell("resident_id").strip():
        row.resident_id = _check(
            row, "resident_id", partial(normalize_resident_id, raw_id)
        )
    else:
        row.resident_id = uuid4().hex
    existing = (
        registry.get_resident(row.resident_id)
        if row.resident_id is not None and row.resident_id in registry
        else None
    )

    name = _check(row, "name", partial(normalize_name, cell("name")))
    household: Household | None = None
    try:
        household = Household(cell("building"), cell("unit"), cell("room"))
    except InvalidHouseholdError as err:
        row.errors.append(CsvRowError(line, err.part or "building", err))

    phone: str | None = None
    if "phone" in positions:
        if raw_phone := cell("phone").strip():
            phone = _check(row, "phone", partial(normalize_phone, raw_phone))
    elif existing is not None:
        phone = existing.phone
    tags: frozenset[str] | None = frozenset()
    if "tags" in positions:
        tags = _check(row, "tags", partial(normalize_tags, _split_list(cell("tags"))))
    elif existing is not None:
        tags = existing.tags
    targets: tuple[str, ...] | None = ()
    if "notify_targets" in positions:
        targets = _check(
            row,
            "notify_targets",
            partial(normalize_notify_targets, _split_list(cell("notify_targets"))),
        )
    elif existing is not None:
        targets = existing.notify_targets

    if "plates" in positions:
        row.plates = []
        for raw_plate in _split_list(cell("plates")):
            plate = _check(row, "plates", partial(validate_plate, raw_plate))
            if plate is None:
                continue
            if plate in row.plates:
                row.errors.append(
                    CsvRowError(
                        line,
                        "plates",
                        DuplicatePlateError(plate, "it appears twice in the row"),
                    )
                )
                continue
            row.plates.append(plate)

    if (
        not row.errors
        and row.resident_id is not None
        and name is not None
        and household is not None
        and tags is not None
        and targets is not None
    ):
        row.resident = Resident(row.resident_id, name, household, phone, tags, targets)
    return row


def _check_across_rows(
    registry: ResidentsRegistry, rows: list[_Row], *, replace: bool
) -> None:
    """Note resident IDs and plates used twice in the file or owned by others."""
    id_lines: dict[str, int] = {}
    for row in rows:
        if row.resident_id is None:
            continue
        if (first := id_lines.setdefault(row.resident_id, row.line)) != row.line:
            row.errors.append(
                CsvRowError(
                    row.line,
                    "resident_id",
                    DuplicateResidentError(row.resident_id, f"also on line {first}"),
                )
            )
    plate_lines: dict[str, int] = {}
    for row in rows:
        for plate in row.plates or ():
            if (first := plate_lines.setdefault(plate, row.line)) != row.line:
                row.errors.append(
                    CsvRowError(
                        row.line,
                        "plates",
                        DuplicatePlateError(plate, f"also on line {first}"),
                    )
                )
                continue
            if replace:
                continue
            # Without replace, residents missing from the file keep their plates.
            owner = registry.vehicle_for_plate(plate)
            if owner is not None and owner.resident_id not in id_lines:
                row.errors.append(
                    CsvRowError(
                        row.line,
                        "plates",
                        DuplicatePlateError(
                            plate, f"it belongs to resident {owner.resident_id}"
                        ),
                    )
                )


@dataclass(slots=True, frozen=True)
class ParsedImport:
    """Hold the validated rows of a CSV file, ready to be applied to the registry."""

    records: tuple[ResidentRecord, ...]
    replace: bool
    ignored_columns: tuple[str, ...] = ()


def read_residents_csv(
    registry: ResidentsRegistry, data: bytes, *, replace: bool = False
) -> ParsedImport:
    """Read and validate a CSV file of residents without changing the registry.

    The registry is only read (for the residents that rows update and the owners of
    plates), so this may run in a worker thread; apply_residents_import then checks
    the registry's own rules again while it applies the rows. Any bad row raises
    CsvImportError listing every problem by line and column.
    """

    text = decode_csv_bytes(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[_Row] = []
    positions: dict[str, int] | None = None
    ignored: tuple[str, ...] = ()
    width = 0
    line = 1
    try:
        for cells in reader:
            # A quoted cell may span lines; a record starts after the previous one ended.
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if positions is None:
                positions, ignored = _read_header(cells)
                width = len(cells)
                continue
            rows.append(_read_row(registry, start, cells, positions, width))
    except csv.Error as err:
        raise CsvFormatError(f"line {reader.line_num}: {err}") from err
    if positions is None:
        raise CsvFormatError("there is no header row")

    _check_across_rows(registry, rows, replace=replace)
    if errors := [error for row in rows for error in row.errors]:
        raise CsvImportError(errors)
    return ParsedImport(
        records=tuple(
            ResidentRecord(
                row.resident, None if row.plates is None else tuple(row.plates)
            )
            for row in rows
            if row.resident is not None
        ),
        replace=replace,
        ignored_columns=ignored,
    )


def apply_residents_import(
    registry: ResidentsRegistry, parsed: ParsedImport
) -> ImportReport:
    """Apply validated rows to the registry, entirely or not at all."""
    result = registry.bulk_upsert(parsed.records, replace=parsed.replace)
    return ImportReport(
        added=result.added,
        updated=result.updated,
        removed=result.removed,
        vehicles=result.vehicles,
        ignored_columns=parsed.ignored_columns,
    )


def import_residents_csv(
    registry: ResidentsRegistry, data: bytes, *, replace: bool = False
) -> ImportReport:
    """Import residents and their plates from CSV, entirely or not at all.

    A row whose resident_id is registered updates that resident; a blank
    resident_id adds a new resident. Optional columns missing from the header keep
    the current values of updated residents. With replace=True, residents missing
    from the file are removed. Any bad row raises CsvImportError listing every
    problem by line and column, and the registry is left as it was.
    """
    return apply_residents_import(
        registry, read_residents_csv(registry, data, replace=replace)
    )


def export_residents_csv(
    registry: ResidentsRegistry, *, encoding: str = "utf-8-sig"
) -> bytes:
    """Write every resident and their plates as CSV with English headers.

    The default UTF-8 with BOM opens correctly in Excel; gb18030 suits older
    Chinese Excel versions. Vehicle labels and visitor passes are not exported.
    """

    codec = codecs.lookup(encoding).name
    if codec not in EXPORT_ENCODINGS:
        raise ValueError(
            f"export as one of {', '.join(sorted(EXPORT_ENCODINGS))}, not {encoding}"
        )
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for resident in registry.residents:
        household = resident.household
        writer.writerow(
            (
                resident.resident_id,
                resident.name,
                household.building,
                household.unit,
                household.room,
                resident.phone or "",
                ";".join(sorted(resident.tags)),
                ";".join(resident.notify_targets),
                ";".join(
                    vehicle.plate
                    for vehicle in registry.vehicles_of(resident.resident_id)
                ),
            )
        )
    return buffer.getvalue().encode(codec)
