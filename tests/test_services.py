"""Tests of the actions that manage residents, vehicles, cards and visitor passes."""

from datetime import timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_community.const import DOMAIN

from .conftest import add_resident, call

HEADER = "name,building,unit,room,phone,tags,plates\n"


@pytest.fixture
def allowed_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Allow the integration to read and write files in a temporary folder."""
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    return tmp_path


async def test_resident_lifecycle(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A resident is added, changed field by field and removed with their vehicles."""
    entry = init_integration
    registry = entry.runtime_data.registry
    resident_id = await add_resident(
        hass,
        entry,
        phone="+86 138-0013-8000",
        tags=["elderly_living_alone"],
        notify_targets=["notify.mobile_app_zhang_san"],
    )
    resident = registry.get_resident(resident_id)
    assert str(resident.household) == "1-2-301"
    assert resident.tags == frozenset({"elderly_living_alone"})
    assert resident.phone == "+8613800138000"

    await call(hass, "update_resident", entry, resident_id=resident_id, room="302")
    resident = registry.get_resident(resident_id)
    assert str(resident.household) == "1-2-302"
    assert resident.name == "张三"
    assert resident.phone == "+8613800138000"

    await call(
        hass, "update_resident", entry, resident_id=resident_id, name="张叁", tags=[]
    )
    resident = registry.get_resident(resident_id)
    assert resident.name == "张叁"
    assert resident.tags == frozenset()
    assert str(resident.household) == "1-2-302"

    answer = await call(
        hass, "add_vehicle", entry, resident_id=resident_id, plate="粤b·d12345"
    )
    assert answer == {"plate": "粤BD12345"}
    await call(hass, "remove_resident", entry, resident_id=resident_id)
    assert len(registry) == 0
    assert registry.vehicle_for_plate("粤BD12345") is None


async def test_resident_id_of_our_own(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A given ID is kept, and a second resident with it is refused."""
    entry = init_integration
    assert await add_resident(hass, entry, resident_id="PM-0001") == "PM-0001"
    with pytest.raises(ServiceValidationError) as err:
        await add_resident(hass, entry, resident_id="PM-0001", name="李四")
    assert err.value.translation_key == "duplicate_resident"
    assert err.value.translation_placeholders == {"resident_id": "PM-0001"}


@pytest.mark.parametrize(
    ("service", "data", "translation_key"),
    [
        (
            "add_resident",
            {
                "name": "王五",
                "building": "1",
                "unit": "1",
                "room": "1",
                "phone": "12345",
            },
            "invalid_phone",
        ),
        (
            "add_resident",
            {"name": "王五", "building": "1-1", "unit": "1", "room": "1"},
            "invalid_household",
        ),
        (
            "add_resident",
            {
                "name": "王五",
                "building": "1",
                "unit": "1",
                "room": "1",
                "notify_targets": ["nobody"],
            },
            "invalid_resident",
        ),
        (
            "update_resident",
            {"resident_id": "missing", "name": "王五"},
            "unknown_resident",
        ),
        ("remove_resident", {"resident_id": "missing"}, "unknown_resident"),
        (
            "add_vehicle",
            {"resident_id": "missing", "plate": "粤B12345"},
            "unknown_resident",
        ),
        ("remove_vehicle", {"plate": "粤B12345"}, "unknown_vehicle"),
        (
            "add_card",
            {"resident_id": "missing", "card": "04A1B2C3"},
            "unknown_resident",
        ),
        ("remove_card", {"card": "04A1B2C3"}, "unknown_card"),
        ("remove_visitor_pass", {"pass_id": "missing"}, "unknown_visitor_pass"),
    ],
)
async def test_bad_input_is_a_translated_error(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    service: str,
    data: dict[str, Any],
    translation_key: str,
) -> None:
    """Bad input raises a translated validation error and changes nothing."""
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, init_integration, **data)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == translation_key
    assert len(init_integration.runtime_data.registry) == 0


async def test_invalid_and_duplicate_plates(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A malformed plate and a plate registered twice are refused."""
    entry = init_integration
    resident_id = await add_resident(hass, entry)
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "add_vehicle", entry, resident_id=resident_id, plate="粤B1234I"
        )
    assert err.value.translation_key == "invalid_plate"

    await call(hass, "add_vehicle", entry, resident_id=resident_id, plate="京A12345")
    other = await add_resident(hass, entry, name="李四")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "add_vehicle", entry, resident_id=other, plate="京a 12345")
    assert err.value.translation_key == "duplicate_plate"

    await call(hass, "remove_vehicle", entry, plate="京A·12345")
    assert not entry.runtime_data.registry.vehicles


async def test_cards(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """A card is registered under its normalised number, once, and forgotten."""
    entry = init_integration
    registry = entry.runtime_data.registry
    resident_id = await add_resident(hass, entry)
    answer = await call(
        hass,
        "add_card",
        entry,
        resident_id=resident_id,
        card=" ０４a1b2c3 ",  # noqa: RUF001 - full-width input is folded
        label="充电卡",
    )
    assert answer == {"card": "04A1B2C3"}
    card = registry.card_for("04a1B2C3")
    assert card is not None
    assert (card.resident_id, card.label) == (resident_id, "充电卡")

    other = await add_resident(hass, entry, name="李四")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "add_card", entry, resident_id=other, card="04A1B2C3")
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "duplicate_card"
    assert err.value.translation_placeholders == {
        "card": "04A1B2C3",
        "resident_id": resident_id,
    }
    # The message comes from strings.json; Home Assistant drops its final full stop.
    assert str(err.value) == (
        f"The card 04A1B2C3 is already registered to resident {resident_id}"
    )

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "add_card", entry, resident_id=other, card="04A1 B2C3")
    assert err.value.translation_key == "invalid_card"
    assert str(err.value) == (
        'The card number "04A1 B2C3" is not valid: use 1 to 20 letters, digits or '
        "symbols without spaces"
    )
    assert registry.cards_of(other) == []

    await call(hass, "remove_card", entry, card="04a1b2c3")
    assert not registry.cards
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "remove_card", entry, card="04a1b2c3")
    assert err.value.translation_key == "unknown_card"
    assert err.value.translation_placeholders == {"card": "04a1b2c3"}

    await call(hass, "add_card", entry, resident_id=other, card="E5F6")
    await call(hass, "remove_resident", entry, resident_id=other)
    assert registry.card_for("E5F6") is None


async def test_visitor_pass(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A pass is valid in its window only; a naive time is local time."""
    await hass.config.async_set_time_zone("Asia/Shanghai")
    freezer.move_to("2026-11-21 10:00:00+08:00")
    entry = init_integration
    registry = entry.runtime_data.registry
    host = await add_resident(hass, entry)
    answer = await call(
        hass,
        "add_visitor_pass",
        entry,
        visitor_name="快递员",
        host_resident_id=host,
        valid_until="2026-11-21 12:00:00",
        plate="粤B88888",
    )
    assert answer is not None
    pass_id = answer["pass_id"]
    now = dt_util.utcnow()
    assert registry.valid_pass_for_plate("粤B88888", now) is not None
    assert registry.valid_pass_for_plate("粤B88888", now + timedelta(hours=2)) is None

    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "add_visitor_pass",
            entry,
            visitor_name="客人",
            host_resident_id=host,
            valid_from="2026-11-21 12:00:00",
            valid_until="2026-11-21 11:00:00",
        )
    assert err.value.translation_key == "invalid_validity_window"

    await call(hass, "remove_visitor_pass", entry, pass_id=pass_id)
    assert not registry.visitor_passes


async def test_unknown_or_unloaded_community(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Actions aimed at a missing or unloaded community say so."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "remove_resident",
            {"config_entry_id": "nope", "resident_id": "x"},
            blocking=True,
        )
    assert err.value.translation_key == "community_not_found"

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "remove_resident", init_integration, resident_id="x")
    assert err.value.translation_key == "community_not_loaded"
    assert err.value.translation_placeholders == {"community": "荣悦台"}


async def test_import_gb18030_and_export(
    hass: HomeAssistant, init_integration: MockConfigEntry, allowed_dir: Path
) -> None:
    """A GB18030 file from Chinese Excel imports; the export reads back the same."""
    entry = init_integration
    source = allowed_dir / "residents.csv"
    source.write_bytes(
        (
            "姓名,楼栋,单元,房号,手机,标签,车牌,备注\n"
            "张三,1,1,101,13800138000,elderly_living_alone,,独居\n"
            "李四,2,1,202,13900139000,,粤B12345;粤BD12345,\n"
        ).encode("gb18030")
    )
    answer = await call(hass, "import_residents", entry, path=str(source))
    assert answer == {
        "added": 2,
        "updated": 0,
        "removed": 0,
        "vehicles": 2,
        "ignored_columns": ["备注"],
    }
    registry = entry.runtime_data.registry
    assert sorted(r.name for r in registry.residents) == ["张三", "李四"]

    target = allowed_dir / "export.csv"
    answer = await call(
        hass, "export_residents", entry, path=str(target), encoding="gb18030"
    )
    assert answer == {"path": str(target), "residents": 2}
    text = target.read_bytes().decode("gb18030")
    assert "张三" in text
    assert "粤BD12345" in text

    answer = await call(hass, "export_residents", entry, path=str(target))
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM for Excel
    answer = await call(
        hass, "import_residents", entry, path=str(target), mode="replace"
    )
    assert answer is not None
    assert answer["updated"] == 2
    assert answer["added"] == answer["removed"] == 0


async def test_cards_survive_a_replacing_import(
    hass: HomeAssistant, init_integration: MockConfigEntry, allowed_dir: Path
) -> None:
    """The CSV has no cards: a replace keeps those of residents it lists."""
    entry = init_integration
    registry = entry.runtime_data.registry
    kept = await add_resident(hass, entry)
    gone = await add_resident(hass, entry, name="李四")
    await call(hass, "add_card", entry, resident_id=kept, card="CARD-1")
    await call(hass, "add_card", entry, resident_id=gone, card="CARD-2")
    target = allowed_dir / "export.csv"
    await call(hass, "remove_resident", entry, resident_id=gone)
    await call(hass, "export_residents", entry, path=str(target))
    await add_resident(hass, entry, resident_id=gone, name="李四")
    await call(hass, "add_card", entry, resident_id=gone, card="CARD-2")

    answer = await call(
        hass, "import_residents", entry, path=str(target), mode="replace"
    )
    assert answer is not None
    assert (answer["updated"], answer["removed"]) == (1, 1)
    assert [card.card for card in registry.cards_of(kept)] == ["CARD-1"]
    assert registry.card_for("CARD-2") is None


async def test_import_with_bad_rows_changes_nothing(
    hass: HomeAssistant, init_integration: MockConfigEntry, allowed_dir: Path
) -> None:
    """Every bad row is named, in the configured language, and nothing is imported."""
    entry = init_integration
    await add_resident(hass, entry, name="老住户")
    before = entry.runtime_data.registry.to_dict()
    source = allowed_dir / "bad.csv"
    source.write_text(
        HEADER
        + "张三,1,1,101,13800138000,,粤B12345\n"
        + "李四,1,1,102,12345,,\n"
        + "王五,1,1,103,,,粤B1234I\n"
        + "赵六,1,1,104,,,粤B12345\n",
        encoding="utf-8",
    )
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "import_residents", entry, path=str(source))
    assert err.value.translation_key == "csv_import_failed"
    placeholders = err.value.translation_placeholders or {}
    assert placeholders["count"] == "3"
    errors = placeholders["errors"]
    assert "line 3, column phone: 12345 is not a valid phone number." in errors
    assert "line 4" in errors
    assert "line 5" in errors
    assert entry.runtime_data.registry.to_dict() == before


async def test_import_error_lists_at_most_ten_rows(
    hass: HomeAssistant, init_integration: MockConfigEntry, allowed_dir: Path
) -> None:
    """A file full of errors is summarised, not dumped."""
    source = allowed_dir / "bad.csv"
    source.write_text(
        HEADER + "".join(f"住户{i},1,1,{i},bad-phone,,\n" for i in range(15)),
        encoding="utf-8",
    )
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "import_residents", init_integration, path=str(source))
    errors = (err.value.translation_placeholders or {})["errors"]
    assert errors.count("line ") == 10
    assert errors.endswith("and 5 more")


async def test_import_unreadable_file(
    hass: HomeAssistant, init_integration: MockConfigEntry, allowed_dir: Path
) -> None:
    """A missing file, a path outside the allow-list and a file with no columns fail clearly."""
    entry = init_integration
    with pytest.raises(HomeAssistantError) as err:
        await call(
            hass, "import_residents", entry, path=str(allowed_dir / "missing.csv")
        )
    assert err.value.translation_key == "file_read_failed"

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "import_residents", entry, path="/etc/passwd")
    assert err.value.translation_key == "path_not_allowed"

    source = allowed_dir / "columns.csv"
    source.write_text("who,where\n张三,1\n", encoding="utf-8")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "import_residents", entry, path=str(source))
    assert err.value.translation_key == "csv_format"


async def test_export_unwritable(
    hass: HomeAssistant, init_integration: MockConfigEntry, allowed_dir: Path
) -> None:
    """An export into a missing folder fails clearly and leaves no partial file."""
    target = allowed_dir / "missing" / "export.csv"
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "export_residents", init_integration, path=str(target))
    assert err.value.translation_key == "file_write_failed"
    assert not (allowed_dir / "missing").exists()


async def test_import_5000_residents_survives_restart(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    allowed_dir: Path,
    hass_storage: dict[str, Any],
) -> None:
    """5,000 imported residents with their plates are all there after a restart."""
    entry = init_integration
    rows = []
    for number in range(5000):
        plate = f"粤B{number:05d}" if number % 5 < 3 else ""
        rows.append(
            f"住户{number},{number % 2 + 1},{number % 4 + 1},{number},,,{plate}\n"
        )
    source = allowed_dir / "big.csv"
    source.write_text(HEADER + "".join(rows), encoding="utf-8")
    answer = await call(hass, "import_residents", entry, path=str(source))
    assert answer is not None
    assert answer["added"] == 5000
    assert answer["vehicles"] == 3000
    before = entry.runtime_data.registry.to_dict()

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    registry = entry.runtime_data.registry
    assert len(registry) == 5000
    assert len(registry.vehicles) == 3000
    assert registry.to_dict() == before
