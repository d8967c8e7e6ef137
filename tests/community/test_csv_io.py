"""Test importing and exporting residents as CSV files."""

# Full-width and look-alike characters are the input under test.
# ruff: noqa: RUF001, RUF002

import codecs

import pytest

from custom_components.smart_community.community.csv_io import (
    ImportReport,
    apply_residents_import,
    decode_csv_bytes,
    export_residents_csv,
    import_residents_csv,
    read_residents_csv,
)
from custom_components.smart_community.community.errors import (
    CsvFormatError,
    CsvImportError,
    CsvRowError,
    DuplicatePlateError,
    DuplicateResidentError,
    InvalidHouseholdError,
    InvalidPhoneError,
    InvalidPlateError,
    InvalidResidentError,
)
from custom_components.smart_community.community.models import (
    TAG_ELDERLY_LIVING_ALONE,
    Household,
)
from custom_components.smart_community.community.registry import ResidentsRegistry

from .conftest import Counter

ENGLISH = (
    "name,building,unit,room,phone,tags,notify_targets,plates,resident_id\r\n"
    "张三,3,2,1201,138 0013 8000,elderly_living_alone,notify.mobile_app_zhang_san,粤B12345;粤BD12345,\r\n"
    "李四,3,2,1202,,,,,li\r\n"
)
CHINESE = (
    "编号,姓名,楼栋,单元,房号,手机,标签,通知,车牌,备注\n"
    "zhang,张三,3,2,1201,13800138000,elderly_living_alone,notify.family,粤B·12345,独居老人\n"
    "li,李四,3,2,1202,0755-1234567,,,粤B12345D；京A1234警,\n"
)


@pytest.fixture
def registry() -> ResidentsRegistry:
    """Return a registry with two residents of building 1 and a vehicle."""
    registry = ResidentsRegistry()
    registry.add_resident(
        resident_id="old1",
        name="老王",
        household="1-1-101",
        phone="13900139000",
        tags=["vip"],
    )
    registry.add_resident(resident_id="old2", name="老李", household="1-1-102")
    registry.add_vehicle("old1", "粤A11111", "黑色SUV")
    return registry


@pytest.fixture
def listener(registry: ResidentsRegistry) -> Counter:
    """Listen to the registry fixture."""
    counter = Counter()
    registry.add_listener(counter)
    return counter


def failed_rows(error: CsvImportError) -> list[tuple[int, str | None, type]]:
    """Summarise an import failure as (line, column, error type)."""
    return [(e.row, e.column, type(e.error)) for e in error.row_errors]


# Decoding --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        CHINESE.encode("utf-8"),
        codecs.BOM_UTF8 + CHINESE.encode("utf-8"),
        CHINESE.encode("gb18030"),
        CHINESE.encode("gbk"),
    ],
    ids=["utf-8", "utf-8-bom", "gb18030", "gbk"],
)
def test_decode_csv_bytes(data: bytes) -> None:
    """Read UTF-8 with or without BOM, and GB18030 as Chinese Excel writes it."""
    assert decode_csv_bytes(data) == CHINESE


def test_gb18030_bytes_are_not_utf8() -> None:
    """Make sure the GB18030 case really exercises the fallback."""
    data = "张三,李四,粤B12345".encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert decode_csv_bytes(data) == "张三,李四,粤B12345"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe\x00\x00\xff", "neither UTF-8 nor GB18030"),
        (codecs.BOM_UTF8 + "张三".encode("gb18030"), "not valid UTF-8"),
    ],
)
def test_decode_csv_bytes_rejects(data: bytes, reason: str) -> None:
    """Refuse bytes that are no text in either encoding."""
    with pytest.raises(CsvFormatError, match=reason) as caught:
        decode_csv_bytes(data)
    assert caught.value.translation_key == "csv_format"
    assert set(caught.value.translation_placeholders) == {"reason"}


# Importing -------------------------------------------------------------------


def test_import_english_headers_in_any_order(
    registry: ResidentsRegistry, listener: Counter
) -> None:
    """Add residents and plates, generating IDs for blank ones, notifying once."""
    report = import_residents_csv(registry, ENGLISH.encode())
    assert report == ImportReport(
        added=2, updated=0, removed=0, vehicles=2, ignored_columns=()
    )
    assert listener.calls == 1
    assert len(registry) == 4
    zhang = registry.residents_with_tag(TAG_ELDERLY_LIVING_ALONE)[0]
    assert zhang.name == "张三"
    assert zhang.phone == "13800138000"
    assert zhang.notify_targets == ("notify.mobile_app_zhang_san",)
    assert len(zhang.resident_id) == 32
    assert [v.plate for v in registry.vehicles_of(zhang.resident_id)] == [
        "粤B12345",
        "粤BD12345",
    ]
    li = registry.get_resident("li")
    assert (li.household, li.phone, li.tags) == (
        Household("3", "2", "1202"),
        None,
        frozenset(),
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_import_chinese_headers(registry: ResidentsRegistry, encoding: str) -> None:
    """Accept Chinese header aliases and report unknown columns as ignored."""
    report = import_residents_csv(registry, CHINESE.encode(encoding))
    assert report == ImportReport(
        added=2, updated=0, removed=0, vehicles=3, ignored_columns=("备注",)
    )
    assert registry.get_resident("zhang").name == "张三"
    assert registry.get_resident("li").phone == "07551234567"
    vehicle = registry.vehicle_for_plate("粤B12345D")
    assert vehicle is not None
    assert vehicle.resident_id == "li"
    assert [v.plate for v in registry.vehicles_of("li")] == ["粤B12345D", "京A1234警"]


def test_import_header_variants(registry: ResidentsRegistry) -> None:
    """Match headers case-insensitively, around spaces, with 电话 for phone."""
    data = " Name ,BUILDING,Unit,Room,电话,,Extra\n王五,5,1,101,010-12345678,x,y\n"
    report = import_residents_csv(registry, data.encode())
    assert report.ignored_columns == ("Extra",)
    assert registry.residents_in_building("5")[0].phone == "01012345678"


def test_import_list_separators(registry: ResidentsRegistry) -> None:
    """Split list cells on ; ； , ， and 、, skipping blanks."""
    data = (
        "name,building,unit,room,tags,notify_targets,plates\n"
        '王五,5,1,101,"vip, elderly_living_alone","notify.a；notify.b;",粤B11111、粤B22222；;粤B33333\n'
    )
    import_residents_csv(registry, data.encode())
    resident = registry.residents_in_building("5")[0]
    assert resident.tags == frozenset({"vip", TAG_ELDERLY_LIVING_ALONE})
    assert resident.notify_targets == ("notify.a", "notify.b")
    assert [v.plate for v in registry.vehicles_of(resident.resident_id)] == [
        "粤B11111",
        "粤B22222",
        "粤B33333",
    ]


def test_import_updates_existing_residents(
    registry: ResidentsRegistry, listener: Counter
) -> None:
    """Update rows with a known ID; their plates replace the old ones."""
    data = "resident_id,name,building,unit,room,phone,tags,plates\nold1,老王,1,1,103,,,粤A11111;粤A22222\n"
    report = import_residents_csv(registry, data.encode())
    assert report == ImportReport(
        added=0, updated=1, removed=0, vehicles=2, ignored_columns=()
    )
    old1 = registry.get_resident("old1")
    assert (old1.household, old1.phone, old1.tags) == (
        Household("1", "1", "103"),
        None,
        frozenset(),
    )
    # A plate that stays keeps its label.
    assert [(v.plate, v.label) for v in registry.vehicles_of("old1")] == [
        ("粤A11111", "黑色SUV"),
        ("粤A22222", None),
    ]
    assert registry.get_resident("old2").name == "老李"
    assert listener.calls == 1


def test_import_without_optional_columns_keeps_values(
    registry: ResidentsRegistry,
) -> None:
    """Keep phone, tags, targets and plates of updated residents when columns are absent."""
    data = "编号,姓名,楼栋,单元,房号\nold1,王大爷,1,1,101\n"
    import_residents_csv(registry, data.encode())
    old1 = registry.get_resident("old1")
    assert (old1.name, old1.phone, old1.tags) == (
        "王大爷",
        "13900139000",
        frozenset({"vip"}),
    )
    assert [v.plate for v in registry.vehicles_of("old1")] == ["粤A11111"]


def test_import_replace(registry: ResidentsRegistry, listener: Counter) -> None:
    """Make the registry equal to the file, removing residents not in it."""
    data = "resident_id,name,building,unit,room,plates\nold2,老李,1,1,102,粤A11111\nnew,新人,2,1,101,\n"
    report = import_residents_csv(registry, data.encode(), replace=True)
    assert report == ImportReport(
        added=1, updated=1, removed=1, vehicles=1, ignored_columns=()
    )
    assert [r.resident_id for r in registry.residents] == ["old2", "new"]
    vehicle = registry.vehicle_for_plate("粤A11111")
    assert vehicle is not None
    assert (vehicle.resident_id, vehicle.label) == ("old2", None)
    assert listener.calls == 1


def test_import_plate_of_resident_not_in_file(registry: ResidentsRegistry) -> None:
    """Refuse a plate owned by a resident the merge keeps; replace allows it."""
    data = "name,building,unit,room,plates\n新人,2,1,101,粤a·11111\n".encode()
    with pytest.raises(CsvImportError) as caught:
        import_residents_csv(registry, data)
    assert failed_rows(caught.value) == [(2, "plates", DuplicatePlateError)]
    assert "belongs to resident old1" in str(caught.value)
    import_residents_csv(registry, data, replace=True)
    assert len(registry) == 1


def test_bad_rows_are_reported_and_nothing_changes(
    registry: ResidentsRegistry, listener: Counter
) -> None:
    """List every bad row with its line and column, and import nothing."""
    data = (
        "resident_id,name,building,unit,room,phone,tags,notify_targets,plates\n"  # 1
        "ok1,好人,1,1,201,,,,粤C11111\n"  # 2
        "\n"  # 3: blank lines are skipped but counted
        "bad id,,1,1,,12345,Bad Tag,notify,粤C1111I;粤C22222;粤C22222\n"  # 4
        'ok2,"多行\n备注",1,1,202,,,,\n'  # 5-6: a quoted line break is refused
        "ok3,好人,1,1,203,,,,粤C11111\n"  # 7
        "ok1,重复,1,1-2,204,,,,\n"  # 8
        "ok4,好人,1,1,205,,,,,surplus\n"  # 9
        "ok5,好人,1,1,206,,,,\n"  # 10
    )
    before = registry.to_dict()
    with pytest.raises(CsvImportError) as caught:
        import_residents_csv(registry, data.encode("gb18030"))
    assert failed_rows(caught.value) == [
        (4, "resident_id", InvalidResidentError),
        (4, "name", InvalidResidentError),
        (4, "room", InvalidHouseholdError),
        (4, "phone", InvalidPhoneError),
        (4, "tags", InvalidResidentError),
        (4, "notify_targets", InvalidResidentError),
        (4, "plates", InvalidPlateError),
        (4, "plates", DuplicatePlateError),
        (5, "name", InvalidResidentError),
        (7, "plates", DuplicatePlateError),
        (8, "unit", InvalidHouseholdError),
        (8, "resident_id", DuplicateResidentError),
        (9, None, CsvFormatError),
    ]
    error = caught.value
    assert error.translation_key == "csv_import_failed"
    assert error.translation_placeholders == {"count": "5"}
    described = [str(row_error) for row_error in error.row_errors]
    assert (
        "line 7, column plates: The plate 粤C11111 is already registered (also on line 2)"
        in described
    )
    assert (
        "line 8, column resident_id: A resident with the ID 'ok1' already exists "
        "(also on line 2)" in described
    )
    assert described[-1].startswith(
        "line 9: The CSV file cannot be read: the row has 10 cells"
    )
    assert str(error).startswith("Nothing was imported: 5 rows have errors: line 4, ")
    assert registry.to_dict() == before
    assert listener.calls == 0


def test_import_error_message_is_capped() -> None:
    """List the first problems in the message and count the rest."""
    rows = "".join(f"住户{i},1,1,\n" for i in range(15))
    with pytest.raises(CsvImportError) as caught:
        import_residents_csv(
            ResidentsRegistry(), f"name,building,unit,room\n{rows}".encode()
        )
    assert len(caught.value.row_errors) == 15
    assert caught.value.translation_placeholders == {"count": "15"}
    assert str(caught.value).endswith("; and 5 more")
    assert str(caught.value.row_errors[0]).startswith("line 2, column room: ")


def test_row_error_without_column_reads_well() -> None:
    """Describe a whole-row problem with its line only."""
    row_error = CsvRowError(3, None, CsvFormatError("too many cells"))
    assert str(row_error) == "line 3: The CSV file cannot be read: too many cells"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no header row"),
        (b"\r\n , ,\r\n\r\n", "no header row"),
        ("姓名,楼栋,单元\n张三,3,2\n".encode(), "room are missing"),
        (b"resident_id,phone\n", "name, building, unit, room are missing"),
        ("name,姓名,building,unit,room\n".encode(), "name appears twice"),
        ("电话,手机,name,building,unit,room\n".encode(), "phone appears twice"),
        (b"name,building,unit,room\n" + b"x" * 200_000 + b",1,1,1\n", "field limit"),
    ],
)
def test_unreadable_files(
    registry: ResidentsRegistry, data: bytes, reason: str
) -> None:
    """Refuse files without a usable header with CsvFormatError."""
    before = registry.to_dict()
    with pytest.raises(CsvFormatError, match=reason):
        import_residents_csv(registry, data)
    assert registry.to_dict() == before


def test_header_after_blank_lines(registry: ResidentsRegistry) -> None:
    """Find the header after leading blank lines and keep physical line numbers."""
    data = "\n\nname,building,unit,room\n张三,3,2,\n"
    with pytest.raises(CsvImportError) as caught:
        import_residents_csv(registry, data.encode())
    assert failed_rows(caught.value) == [(4, "room", InvalidHouseholdError)]


def test_empty_import_is_silent(registry: ResidentsRegistry, listener: Counter) -> None:
    """Change nothing and notify nobody for a file with only a header."""
    report = import_residents_csv(registry, b"name,building,unit,room\n")
    assert report == ImportReport(added=0, updated=0, removed=0, vehicles=0)
    assert listener.calls == 0


def test_import_5000_rows() -> None:
    """Import a community-sized file in one change."""
    rows = "".join(
        f"r{i},住户{i},{i % 30 + 1},{i % 4 + 1},{i // 120 + 1}0{i % 4 + 1},138{i:08d},,,"
        f"{f'粤B{i:05d}' if i % 5 < 3 else ''}\n"
        for i in range(5000)
    )
    registry = ResidentsRegistry()
    counter = Counter()
    registry.add_listener(counter)
    data = (
        f"resident_id,name,building,unit,room,phone,tags,notify_targets,plates\n{rows}"
    )
    report = import_residents_csv(registry, data.encode("gb18030"))
    assert (report.added, report.vehicles) == (5000, 3000)
    assert counter.calls == 1
    assert registry.vehicle_for_plate("粤b·04999") is None
    vehicle = registry.vehicle_for_plate("粤b·04997")
    assert vehicle is not None
    assert vehicle.resident_id == "r4997"


# Exporting -------------------------------------------------------------------


def community() -> ResidentsRegistry:
    """Return residents with every kind of field filled in."""
    registry = ResidentsRegistry()
    registry.add_resident(
        resident_id="zhang",
        name="张三",
        household="3-2-1201",
        phone="+86 138 0013 8000",
        tags=[TAG_ELDERLY_LIVING_ALONE, "vip"],
        notify_targets=["notify.mobile_app_zhang_san", "notify.family"],
    )
    registry.add_resident(
        resident_id="li", name='李"四", 先生', household="A座-1单元-0101"
    )
    registry.add_resident(
        resident_id="wang", name="王五", household="3-2-1202", phone="010-12345678"
    )
    registry.add_vehicle("zhang", "粤B12345")
    registry.add_vehicle("zhang", "粤BD12345")
    registry.add_vehicle("wang", "京A1234警")
    return registry


def test_export_layout() -> None:
    """Write English headers, one row per resident, lists joined by ;."""
    text = export_residents_csv(community(), encoding="utf-8").decode("utf-8")
    assert text.splitlines() == [
        "resident_id,name,building,unit,room,phone,tags,notify_targets,plates",
        "zhang,张三,3,2,1201,+8613800138000,elderly_living_alone;vip,"
        "notify.mobile_app_zhang_san;notify.family,粤B12345;粤BD12345",
        'li,"李""四"", 先生",A座,1单元,0101,,,,',
        "wang,王五,3,2,1202,01012345678,,,京A1234警",
    ]


def test_export_defaults_to_utf8_with_bom() -> None:
    """Start with a BOM so that Excel reads the file as UTF-8."""
    assert export_residents_csv(community()).startswith(codecs.BOM_UTF8)


@pytest.mark.parametrize(
    "encoding", ["utf-8-sig", "utf-8", "UTF8", "gb18030", "GB18030"]
)
def test_export_import_round_trip(encoding: str) -> None:
    """Reproduce the registry by importing its export into an empty one."""
    original = community()
    data = export_residents_csv(original, encoding=encoding)
    restored = ResidentsRegistry()
    report = import_residents_csv(restored, data, replace=True)
    assert report == ImportReport(added=3, updated=0, removed=0, vehicles=3)
    assert restored.to_dict() == original.to_dict()


def test_export_refuses_other_encodings() -> None:
    """Refuse encodings that cannot hold every Chinese name."""
    with pytest.raises(ValueError, match="gb18030"):
        export_residents_csv(community(), encoding="gbk")


def test_apply_checks_again_what_changed_since_reading() -> None:
    """A plate registered between reading and applying is refused, all or nothing."""
    registry = ResidentsRegistry()
    neighbour = registry.add_resident(name="邻居", household="2-1-101")
    parsed = read_residents_csv(
        registry,
        "name,building,unit,room,plates\n张三,1,1,101,粤B12345\n".encode(),
    )
    registry.add_vehicle(neighbour.resident_id, "粤B12345")
    before = registry.to_dict()
    counter = Counter()
    registry.add_listener(counter)

    with pytest.raises(DuplicatePlateError):
        apply_residents_import(registry, parsed)
    assert registry.to_dict() == before
    assert counter.calls == 0
