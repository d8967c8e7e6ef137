"""Tests of face terminals in Home Assistant, against the simulated terminal."""

import asyncio
from collections.abc import Callable
import hashlib
import io
import json
from pathlib import Path
import random
from typing import Any, Final
from unittest.mock import patch

from homeassistant.components.lock.const import LockState
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigSubentryData
from homeassistant.const import (
    CONF_HOST,
    CONF_NAME,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SSL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
    STATE_OFF,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smart_community.const import (
    CONF_BUILDING,
    CONF_DOORS,
    DOMAIN,
    SUBENTRY_TYPE_FACE_TERMINAL,
)
from custom_components.smart_community.protocols.isapi import IsapiError
from custom_components.smart_community.terminal import client_for

from .conftest import COMMUNITY_NAME, add_resident, building_subentry, call
from .simulator_harness import SimulatorProcess, StartSimulator

SCENARIO_DIR = Path(__file__).parent.parent / "simulator" / "scenarios"
PASSWORD = "sim-face-1"
QUICK = {
    "model": "DS-K1T341AM",
    "serial_number": "SIM-FACE-0101",
    "doors": 1,
    "username": "admin",
    "password": PASSWORD,
    "heartbeat_seconds": 1,
    "open_seconds": 1,
    "slot_hold_seconds": 0.5,
    "reboot_seconds": 0.5,
    "max_bad_logins": 3,
    "lock_seconds": 120,
}


# Building 1's terminal, quick to answer.
TERMINAL_DEVICE: Final = {
    "id": "face-1",
    "kind": "face_terminal",
    "building": "1",
    "name": "1号楼 单元门禁",
    "options": QUICK,
}


@pytest.fixture
def terminal_sim(start_simulator: StartSimulator, tmp_path: Path) -> SimulatorProcess:
    """Run one building with one quick face terminal."""
    document = json.loads((SCENARIO_DIR / "minimal.json").read_text(encoding="utf-8"))
    document["devices"] = [TERMINAL_DEVICE]
    path = tmp_path / "terminal.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return start_simulator(path)


def terminal_data(sim: SimulatorProcess, password: str = PASSWORD) -> dict[str, Any]:
    """Return the subentry settings that reach the simulated terminal."""
    device = sim.device("face-1")
    return {
        CONF_BUILDING: "1",
        CONF_HOST: device["host"],
        CONF_PORT: device["port"],
        CONF_SSL: False,
        CONF_VERIFY_SSL: False,
        CONF_USERNAME: "admin",
        CONF_PASSWORD: password,
        CONF_DOORS: 1,
    }


def community_with_terminal(
    sim: SimulatorProcess, password: str = PASSWORD
) -> MockConfigEntry:
    """Return a community with building 1 and its face terminal."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=COMMUNITY_NAME,
        data={CONF_NAME: COMMUNITY_NAME},
        unique_id=COMMUNITY_NAME,
        subentries_data=[
            building_subentry("1", "1号楼"),
            ConfigSubentryData(
                data=terminal_data(sim, password),
                subentry_type=SUBENTRY_TYPE_FACE_TERMINAL,
                title="1号楼 单元门禁",
                unique_id="face_terminal_SIM-FACE-0101",
            ),
        ],
    )


async def wait_for(
    hass: HomeAssistant, predicate: Callable[[], bool], seconds: float = 10
) -> None:
    """Let Home Assistant and the simulator work until predicate holds."""
    async with asyncio.timeout(seconds):
        while not predicate():
            await asyncio.sleep(0.05)
            await hass.async_block_till_done()


def entity_id(
    hass: HomeAssistant, platform: str, key: str, entry: MockConfigEntry
) -> str:
    """Find an entity of the terminal by the end of its unique ID."""
    subentry = next(
        s
        for s in entry.subentries.values()
        if s.subentry_type == SUBENTRY_TYPE_FACE_TERMINAL
    )
    found = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{subentry.subentry_id}_{key}"
    )
    assert found is not None
    return found


def state(hass: HomeAssistant, entity: str) -> str | None:
    """Read an entity's state."""
    current = hass.states.get(entity)
    return None if current is None else current.state


@pytest.fixture
async def terminal_entry(
    hass: HomeAssistant, terminal_sim: SimulatorProcess
) -> MockConfigEntry:
    """Set up a community whose terminal is reachable and online."""
    entry = community_with_terminal(terminal_sim)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    lock = entity_id(hass, "lock", "door_1_lock", entry)
    await wait_for(hass, lambda: state(hass, lock) == LockState.LOCKED)
    return entry


async def test_add_terminal_through_the_flow(
    hass: HomeAssistant, terminal_sim: SimulatorProcess
) -> None:
    """Bad address and password are refused; the right ones add the terminal once."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=COMMUNITY_NAME,
        data={CONF_NAME: COMMUNITY_NAME},
        unique_id=COMMUNITY_NAME,
        subentries_data=[building_subentry("1", "1号楼")],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)

    async def submit(data: dict[str, Any]) -> Any:
        result = await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_TYPE_FACE_TERMINAL),
            context={"source": SOURCE_USER},
        )
        assert result["type"] is FlowResultType.FORM
        return await hass.config_entries.subentries.async_configure(
            result["flow_id"], {CONF_NAME: "1号楼 单元门禁", **data}
        )

    good = terminal_data(terminal_sim)
    result = await submit(good | {CONF_PORT: 1})
    assert result["errors"] == {"base": "cannot_connect"}
    result = await submit(good | {CONF_PASSWORD: "wrong"})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await submit(good)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    result = await submit(good)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    lock = entity_id(hass, "lock", "door_1_lock", entry)
    await wait_for(hass, lambda: state(hass, lock) == LockState.LOCKED)


async def test_terminal_needs_a_building(hass: HomeAssistant) -> None:
    """A community without buildings cannot take a terminal yet."""
    entry = MockConfigEntry(
        domain=DOMAIN, title="空小区", data={CONF_NAME: "空小区"}, unique_id="空小区"
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_FACE_TERMINAL), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_buildings"


async def test_unlock_opens_for_a_moment(
    hass: HomeAssistant, terminal_sim: SimulatorProcess, terminal_entry: MockConfigEntry
) -> None:
    """Unlocking opens the door; the terminal locks it again by itself."""
    lock = entity_id(hass, "lock", "door_1_lock", terminal_entry)
    await hass.services.async_call("lock", "unlock", {"entity_id": lock}, blocking=True)
    await wait_for(hass, lambda: state(hass, lock) == LockState.UNLOCKED)
    await wait_for(hass, lambda: state(hass, lock) == LockState.LOCKED)

    event = entity_id(hass, "event", "access", terminal_entry)
    current = hass.states.get(event)
    assert current is not None
    assert current.attributes["event_type"] == "access_granted"
    assert current.attributes["method"] == "remote"


async def test_hold_open_and_release(
    hass: HomeAssistant, terminal_sim: SimulatorProcess, terminal_entry: MockConfigEntry
) -> None:
    """Holding doors open keeps them unlocked until released."""
    lock = entity_id(hass, "lock", "door_1_lock", terminal_entry)
    await hass.services.async_call(
        DOMAIN, "hold_open", {"entity_id": lock}, blocking=True
    )
    await wait_for(hass, lambda: state(hass, lock) == LockState.UNLOCKED)
    snapshot = await terminal_sim.snapshot("face-1")
    assert snapshot["state"]["doors"][0]["mode"] == "alwaysOpen"

    await asyncio.sleep(1.5)  # longer than an ordinary opening
    await hass.async_block_till_done()
    assert state(hass, lock) == LockState.UNLOCKED

    await hass.services.async_call(
        DOMAIN, "release_hold", {"entity_id": lock}, blocking=True
    )
    await wait_for(hass, lambda: state(hass, lock) == LockState.LOCKED)
    snapshot = await terminal_sim.snapshot("face-1")
    assert snapshot["state"]["doors"][0]["mode"] == "normal"


def terminal_subentry_id(entry: MockConfigEntry) -> str:
    """Return the subentry ID of the community's face terminal."""
    return next(
        s.subentry_id
        for s in entry.subentries.values()
        if s.subentry_type == SUBENTRY_TYPE_FACE_TERMINAL
    )


def face_photo(seed: int = 1) -> bytes:
    """Make a JPEG the size of a real face photo."""
    noise = random.Random(seed).randbytes(160 * 160 * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (160, 160), noise).save(buffer, "JPEG")
    return buffer.getvalue()


async def person_on_terminal(
    sim: SimulatorProcess, employee_no: str
) -> dict[str, Any] | None:
    """Return what the simulated terminal holds for an employee number."""
    snapshot = await sim.snapshot("face-1")
    return next(
        (
            person
            for person in snapshot["state"]["persons"]
            if person["employee_no"] == employee_no
        ),
        None,
    )


async def wait_for_terminal(
    hass: HomeAssistant, sim: SimulatorProcess, check: Callable[[], Any]
) -> None:
    """Wait until an async check of the simulated terminal holds."""
    async with asyncio.timeout(15):
        while not await check():
            await asyncio.sleep(0.1)
            await hass.async_block_till_done()


@pytest.fixture
def photo_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Allow reading face photos from a temporary folder."""
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    return tmp_path


async def test_recognised_resident_and_stranger(
    hass: HomeAssistant,
    terminal_sim: SimulatorProcess,
    terminal_entry: MockConfigEntry,
    photo_dir: Path,
) -> None:
    """An enrolled face names the resident; an unknown face is a stranger."""
    resident_id = await add_resident(hass, terminal_entry, name="张三", building="1")
    photo = photo_dir / "zhang_san.jpg"
    photo.write_bytes(face_photo())
    answer = await call(
        hass, "enroll_face", terminal_entry, resident_id=resident_id, path=str(photo)
    )
    assert answer == {"terminals": 1}

    async def enrolled_with_face() -> bool:
        person = await person_on_terminal(terminal_sim, resident_id)
        return person is not None and person["has_face"]

    await wait_for_terminal(hass, terminal_sim, enrolled_with_face)
    person = await person_on_terminal(terminal_sim, resident_id)
    assert person is not None
    assert person["name"] == "张三"
    assert person["face_sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()

    event = entity_id(hass, "event", "access", terminal_entry)
    fired: list[dict[str, Any]] = []
    hass.bus.async_listen(
        "state_changed",
        lambda e: (
            fired.append(dict(e.data["new_state"].attributes))
            if e.data["entity_id"] == event
            else None
        ),
    )

    await terminal_sim.action("face-1", "present_face", {"employee_no": resident_id})
    await wait_for(
        hass, lambda: any(f["event_type"] == "access_granted" for f in fired)
    )
    granted = next(f for f in fired if f["event_type"] == "access_granted")
    assert granted["resident_id"] == resident_id
    assert granted["name"] == "张三"
    assert granted["method"] == "face"
    assert granted["reconciled"] is False

    await terminal_sim.action("face-1", "present_stranger", {})
    await wait_for(hass, lambda: any(f["event_type"] == "stranger" for f in fired))

    await terminal_sim.action("face-1", "force_door", {})
    await wait_for(hass, lambda: any(f["event_type"] == "door_forced" for f in fired))
    contact = entity_id(hass, "binary_sensor", "door_1_contact", terminal_entry)
    assert state(hass, contact) == "on"


async def test_residents_follow_the_registry_and_survive_a_reset(
    hass: HomeAssistant, terminal_sim: SimulatorProcess, terminal_entry: MockConfigEntry
) -> None:
    """Added residents appear, removed ones go, and a reset terminal is refilled."""
    first = await add_resident(hass, terminal_entry, name="张三", building="1")
    second = await add_resident(hass, terminal_entry, name="李四", building="1")
    elsewhere = await add_resident(hass, terminal_entry, name="王五", building="2")

    async def both_there() -> bool:
        return all(
            [
                await person_on_terminal(terminal_sim, first),
                await person_on_terminal(terminal_sim, second),
            ]
        )

    await wait_for_terminal(hass, terminal_sim, both_there)
    assert await person_on_terminal(terminal_sim, elsewhere) is None

    await call(hass, "remove_resident", terminal_entry, resident_id=second)

    async def second_gone() -> bool:
        return await person_on_terminal(terminal_sim, second) is None

    await wait_for_terminal(hass, terminal_sim, second_gone)

    await terminal_sim.action("face-1", "reset", {})
    assert await person_on_terminal(terminal_sim, first) is None
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, terminal_subentry_id(terminal_entry)), terminal_entry.entry_id
    )
    assert device is not None
    answer = await call(hass, "resync_terminal", terminal_entry, device_id=device.id)
    assert answer == {"queued": 1}

    async def first_back() -> bool:
        return await person_on_terminal(terminal_sim, first) is not None

    await wait_for_terminal(hass, terminal_sim, first_back)


async def test_full_terminal_keeps_the_change_and_says_why(
    hass: HomeAssistant, terminal_sim: SimulatorProcess, terminal_entry: MockConfigEntry
) -> None:
    """A full terminal leaves the enrolment pending with its reason, not lost."""
    await terminal_sim.action("face-1", "set_full", {"full": True})
    resident_id = await add_resident(hass, terminal_entry, name="赵六", building="1")
    backlog = entity_id(hass, "sensor", "pending_enrolments", terminal_entry)

    def reported_full() -> bool:
        current = hass.states.get(backlog)
        return current is not None and current.attributes.get("errors") == {
            "capacity_full": 1
        }

    await wait_for(hass, reported_full)
    assert state(hass, backlog) == "1"
    assert await person_on_terminal(terminal_sim, resident_id) is None


async def test_enroll_face_from_a_camera(
    hass: HomeAssistant, terminal_sim: SimulatorProcess, terminal_entry: MockConfigEntry
) -> None:
    """A camera's current picture can be a resident's face photo."""
    resident_id = await add_resident(hass, terminal_entry, name="孙七", building="1")
    camera = entity_id(hass, "camera", "snapshot", terminal_entry)
    answer = await call(
        hass, "enroll_face", terminal_entry, resident_id=resident_id, camera=camera
    )
    assert answer == {"terminals": 1}

    async def enrolled_with_face() -> bool:
        person = await person_on_terminal(terminal_sim, resident_id)
        return person is not None and person["has_face"]

    await wait_for_terminal(hass, terminal_sim, enrolled_with_face)


async def test_enroll_face_refuses_bad_input(
    hass: HomeAssistant,
    terminal_sim: SimulatorProcess,
    terminal_entry: MockConfigEntry,
    photo_dir: Path,
) -> None:
    """No source, a non-JPEG file and an unknown resident are translated errors."""
    resident_id = await add_resident(hass, terminal_entry, name="周八", building="1")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "enroll_face", terminal_entry, resident_id=resident_id)
    assert err.value.translation_key == "face_source_required"

    text = photo_dir / "not_a_photo.jpg"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "enroll_face", terminal_entry, resident_id=resident_id, path=str(text)
        )
    assert err.value.translation_key == "invalid_face_picture"

    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "enroll_face", terminal_entry, resident_id="nobody", path=str(text)
        )
    assert err.value.translation_key == "unknown_resident"

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "resync_terminal", terminal_entry, device_id="no-such-device")
    assert err.value.translation_key == "not_a_terminal"


async def test_events_missed_during_a_dropout_arrive_once(
    hass: HomeAssistant, terminal_sim: SimulatorProcess, terminal_entry: MockConfigEntry
) -> None:
    """An event while the stream is down is reconciled, not lost and not doubled."""
    event = entity_id(hass, "event", "access", terminal_entry)
    serials: list[int] = []
    hass.bus.async_listen(
        "state_changed",
        lambda e: (
            serials.append(e.data["new_state"].attributes["serial_no"])
            if e.data["entity_id"] == event
            and e.data["new_state"].attributes.get("event_type") == "stranger"
            else None
        ),
    )
    await terminal_sim.action("face-1", "disconnect_streams", {})
    answer = await terminal_sim.action("face-1", "present_stranger", {})
    await wait_for(hass, lambda: len(serials) >= 1, seconds=15)
    await asyncio.sleep(1.5)
    await hass.async_block_till_done()
    assert len(serials) == 1
    assert serials[0] in answer["serials"]


async def test_reboot_unavailable_then_back(
    hass: HomeAssistant,
    terminal_sim: SimulatorProcess,
    terminal_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A rebooting terminal goes unavailable and comes back, logged once each."""
    lock = entity_id(hass, "lock", "door_1_lock", terminal_entry)
    await terminal_sim.action("face-1", "reboot", {"seconds": 1.5})
    await wait_for(hass, lambda: state(hass, lock) == STATE_UNAVAILABLE)
    await wait_for(hass, lambda: state(hass, lock) == LockState.LOCKED, seconds=20)
    assert caplog.text.count("is unavailable") == 1
    assert caplog.text.count("is back") == 1


async def test_snapshot(
    hass: HomeAssistant, terminal_sim: SimulatorProcess, terminal_entry: MockConfigEntry
) -> None:
    """The camera serves the terminal's JPEG."""
    from homeassistant.components.camera import async_get_image

    camera = entity_id(hass, "camera", "snapshot", terminal_entry)
    image = await async_get_image(hass, camera)
    assert image.content.startswith(b"\xff\xd8")


async def test_door_command_failure_is_translated(
    hass: HomeAssistant, terminal_sim: SimulatorProcess, terminal_entry: MockConfigEntry
) -> None:
    """A terminal that does not answer gives a translated error naming it."""
    lock = entity_id(hass, "lock", "door_1_lock", terminal_entry)
    terminal_sim.stop()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "lock", "open", {"entity_id": lock}, blocking=True
        )
    assert err.value.translation_key == "door_command_failed"


async def test_wrong_password_asks_for_new_credentials(
    hass: HomeAssistant, terminal_sim: SimulatorProcess
) -> None:
    """A refused password starts reauth; the right one brings the terminal back."""
    entry = community_with_terminal(terminal_sim, password="old-password")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_for(
        hass,
        lambda: any(
            flow["context"]["source"] == SOURCE_REAUTH
            for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        ),
    )
    flow = next(
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
    )
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_USERNAME: "admin", CONF_PASSWORD: "still-wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_USERNAME: "admin", CONF_PASSWORD: PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    lock = entity_id(hass, "lock", "door_1_lock", entry)
    await wait_for(hass, lambda: state(hass, lock) == LockState.LOCKED)


async def test_locked_account_waits_and_says_so(
    hass: HomeAssistant,
    terminal_sim: SimulatorProcess,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A locked account raises a repair issue and is not hammered."""
    entry = community_with_terminal(terminal_sim, password="wrong")

    client = client_for(hass, terminal_data(terminal_sim, password="wrong"))
    for _ in range(QUICK["max_bad_logins"]):
        with pytest.raises(IsapiError):
            await client.get_device_info()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    subentry_id = next(
        s.subentry_id
        for s in entry.subentries.values()
        if s.subentry_type == SUBENTRY_TYPE_FACE_TERMINAL
    )
    await wait_for(
        hass,
        lambda: (
            issue_registry.async_get_issue(DOMAIN, f"terminal_locked_{subentry_id}")
            is not None
        ),
    )
    issue = issue_registry.async_get_issue(DOMAIN, f"terminal_locked_{subentry_id}")
    assert issue is not None
    assert issue.translation_placeholders == {
        "terminal": "1号楼 单元门禁",
        "minutes": "2",
    }
    contact = entity_id(hass, "binary_sensor", "door_1_contact", entry)
    assert state(hass, contact) == STATE_UNAVAILABLE
    assert state(hass, contact) != STATE_OFF


async def test_diagnostics_hide_terminal_credentials(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    terminal_sim: SimulatorProcess,
    terminal_entry: MockConfigEntry,
) -> None:
    """A terminal's password, username and address never reach diagnostics."""
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, terminal_entry
    )
    terminal = next(
        s for s in diagnostics["subentries"] if s["subentry_type"] == "face_terminal"
    )
    assert terminal["data"][CONF_PASSWORD] == "**REDACTED**"
    assert terminal["data"][CONF_USERNAME] == "**REDACTED**"
    assert terminal["data"][CONF_HOST] == "**REDACTED**"
    assert PASSWORD not in json.dumps(diagnostics)


async def test_busy_slot_after_a_reload_is_not_an_outage(
    hass: HomeAssistant,
    terminal_sim: SimulatorProcess,
    terminal_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Right after a reload the terminal still holds the old stream: no warning."""
    assert await hass.config_entries.async_reload(terminal_entry.entry_id)
    lock = entity_id(hass, "lock", "door_1_lock", terminal_entry)
    await wait_for(hass, lambda: state(hass, lock) == LockState.LOCKED)
    assert "is unavailable" not in caplog.text


async def test_busy_slot_that_stays_taken_is_reported(
    hass: HomeAssistant,
    terminal_sim: SimulatorProcess,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A slot held by another client for good is reported once, after a grace period."""
    holder = client_for(hass, terminal_data(terminal_sim))
    async with holder.alert_stream():
        with patch(
            "custom_components.smart_community.community.terminals.BUSY_GRACE_SECONDS",
            0.5,
        ):
            entry = community_with_terminal(terminal_sim)
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await wait_for(hass, lambda: "is unavailable" in caplog.text)
            await asyncio.sleep(1)
        assert caplog.text.count("is unavailable") == 1
        assert "still holds its slot" in caplog.text
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_face_photos_are_deleted_with_their_resident(
    hass: HomeAssistant,
    terminal_sim: SimulatorProcess,
    terminal_entry: MockConfigEntry,
    photo_dir: Path,
) -> None:
    """A removed resident's photo and a deleted community's photos leave the disk."""
    faces = Path(hass.config.path(".storage", DOMAIN, terminal_entry.entry_id, "faces"))
    photo = photo_dir / "photo.jpg"
    photo.write_bytes(face_photo())
    staying = await add_resident(hass, terminal_entry, name="留下", building="1")
    leaving = await add_resident(hass, terminal_entry, name="搬走", building="1")
    for resident_id in (staying, leaving):
        await call(
            hass,
            "enroll_face",
            terminal_entry,
            resident_id=resident_id,
            path=str(photo),
        )
    assert len(list(faces.glob("*.jpg"))) == 2

    await call(hass, "remove_resident", terminal_entry, resident_id=leaving)
    assert len(list(faces.glob("*.jpg"))) == 1

    await hass.config_entries.async_remove(terminal_entry.entry_id)
    await hass.async_block_till_done()
    assert not faces.exists()


async def test_enroll_face_from_a_media_image(
    hass: HomeAssistant,
    terminal_sim: SimulatorProcess,
    terminal_entry: MockConfigEntry,
    tmp_path: Path,
) -> None:
    """A picked or uploaded image (a media source item) can be the face photo."""
    assert await async_setup_component(hass, "media_source", {})
    hass.config.media_dirs["local"] = str(tmp_path)
    (tmp_path / "face.jpg").write_bytes(face_photo(7))
    resident_id = await add_resident(hass, terminal_entry, name="吴九", building="1")
    answer = await call(
        hass,
        "enroll_face",
        terminal_entry,
        resident_id=resident_id,
        image={
            "media_content_id": "media-source://media_source/local/face.jpg",
            "media_content_type": "image/jpeg",
        },
    )
    assert answer == {"terminals": 1}

    with pytest.raises(HomeAssistantError) as err:
        await call(
            hass,
            "enroll_face",
            terminal_entry,
            resident_id=resident_id,
            image={"media_content_id": "media-source://media_source/local/gone.jpg"},
        )
    assert err.value.translation_key == "file_read_failed"

    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "enroll_face",
            terminal_entry,
            resident_id=resident_id,
            image={"media_content_id": "media-source://no_such_source/face.jpg"},
        )
    assert err.value.translation_key == "image_not_found"
