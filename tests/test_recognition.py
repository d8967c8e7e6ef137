"""Test recognising cameras end to end against the simulator's MJPEG camera.

The camera shows faces, plates and e-bikes; Home Assistant decodes the stream,
runs the bundled models, fires events, opens gates and keeps the e-bike sensor.

Nothing of the recognition code runs in the simulator: it only composes still
pictures from ``simulator/media`` into a stream.
"""

import asyncio
from collections.abc import Callable
import json
from pathlib import Path
from typing import Any, Final
from unittest.mock import patch

from homeassistant.config_entries import ConfigSubentry, ConfigSubentryData
from homeassistant.const import CONF_NAME, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.requirements import RequirementsNotFound
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smart_community.camera_flow import stream_unique_id
from custom_components.smart_community.community import cameras
from custom_components.smart_community.community.gates import OpenCommand
from custom_components.smart_community.const import (
    CONF_ANALYSIS_RATE,
    CONF_BUILDING,
    CONF_DISTANT_FACES,
    CONF_LINK,
    CONF_MODELS_FOLDER,
    CONF_ROLE,
    CONF_STREAM_URL,
    DOMAIN,
    SUBENTRY_TYPE_CAMERA,
    SUBENTRY_TYPE_FACE_TERMINAL,
)
from custom_components.smart_community.recognition import camera_config
from simulator.scenario import SCENARIO_DIR
from tests.simulator_harness import SimulatorProcess, StartSimulator

from .conftest import COMMUNITY_NAME, add_resident, building_subentry, call
from .gate_helpers import ENTRY_LANE, gate_entry
from .safety_helpers import free_port
from .test_face_terminal import QUICK, terminal_data, wait_for

MEDIA: Final = Path(__file__).resolve().parent.parent / "simulator" / "media"
CAMERA_ID: Final = "camera-1"
SIM_CAMERA: Final = "camera-sim"
# Long enough for the stream to open and two analyses to agree on a slow CI.
RECOGNITION_SECONDS: Final = 30.0
# The resident the stream tests enrol (see resident_and_stranger).
RESIDENT: Final = "barack_obama"


def media_index() -> dict[str, Any]:
    """Read the simulator's media index."""
    index: dict[str, Any] = json.loads((MEDIA / "index.json").read_text("utf-8"))
    return index


def photos_by_identity() -> dict[str, list[str]]:
    """Map each identity of the set's real photos to its files (1.jpg, 2.jpg, ...).

    The pre-aligned face chips (``"set": "aligned_chips"``) are left out: a door
    camera sees photos, not chips on a grey card.
    """
    people: dict[str, list[str]] = {}
    for face in media_index()["faces"]:
        if face.get("set", "photos") == "photos":
            people.setdefault(face["identity"], []).append(face["file"])
    return {
        person: sorted(files, key=lambda file: int(Path(file).stem))
        for person, files in sorted(people.items())
    }


def resident_and_stranger() -> tuple[list[str], list[str]]:
    """Pick the resident (RESIDENT, three press photos) and a stranger with one photo.

    The people with more photos are snapshots over 18 years, some with faces
    too small to enrol, or crops from a collage: not what these tests are about.
    """
    people = photos_by_identity()
    stranger = next(
        person for person in people if person != RESIDENT and len(people[person]) == 1
    )
    return people[RESIDENT], people[stranger]


def camera_subentry(url: str, role: str, **changes: Any) -> ConfigSubentryData:
    """Describe a camera subentry as the flow stores it."""
    data = {
        CONF_STREAM_URL: url,
        CONF_ROLE: role,
        CONF_ANALYSIS_RATE: 5.0,
        CONF_BUILDING: "1",
        **changes,
    }
    return ConfigSubentryData(
        data=data,
        subentry_id=CAMERA_ID,
        subentry_type=SUBENTRY_TYPE_CAMERA,
        title="1号楼 单元门摄像机",
        unique_id=stream_unique_id(url),
    )


def camera_entry(*subentries: ConfigSubentryData) -> MockConfigEntry:
    """Return a community with one building and the given devices."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=COMMUNITY_NAME,
        data={CONF_NAME: COMMUNITY_NAME},
        unique_id=COMMUNITY_NAME,
        subentries_data=[building_subentry("1", "1号楼"), *subentries],
    )


def camera_device(scene: str, **options: Any) -> dict[str, Any]:
    """Describe the simulated camera of building 1, holding a scene."""
    return {
        "id": SIM_CAMERA,
        "kind": "camera",
        "building": "1",
        "name": "单元门摄像机",
        "options": {"scene": scene, "fps": 10, **options},
    }


def camera_scenario(folder: Path, scene: str, **options: Any) -> Path:
    """Write a scenario with one camera that holds an empty scene."""
    scenario = json.loads((SCENARIO_DIR / "minimal.json").read_text("utf-8"))
    scenario["devices"] = [camera_device(scene, **options)]
    path = folder / "camera.json"
    path.write_text(json.dumps(scenario, ensure_ascii=False), "utf-8")
    return path


def stream_url(sim: SimulatorProcess, device: str = SIM_CAMERA) -> str:
    """Return the MJPEG address of a simulated camera."""
    described = sim.device(device)
    return f"http://127.0.0.1:{described['port']}/mjpeg"


def camera_entity(hass: HomeAssistant, platform: str, key: str) -> str:
    """Find an entity of the camera by its unique ID."""
    entity_id = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{CAMERA_ID}_{key}"
    )
    assert entity_id is not None, f"no {platform} {key}"
    return entity_id


class EventLog:
    """Collect the recognition events a camera's event entity fires."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Follow the event entity's state changes."""
        self.events: list[dict[str, Any]] = []
        self._entity_id = camera_entity(hass, "event", "recognition")
        self._remove = hass.bus.async_listen("state_changed", self._changed)

    def _changed(self, event: Any) -> None:
        """Keep every new event's attributes."""
        if event.data["entity_id"] != self._entity_id:
            return
        new_state = event.data.get("new_state")
        if new_state is not None and new_state.attributes.get("event_type"):
            self.events.append(dict(new_state.attributes))

    def of(self, event_type: str) -> list[dict[str, Any]]:
        """Return the events of one type."""
        return [event for event in self.events if event["event_type"] == event_type]

    def close(self) -> None:
        """Stop following."""
        self._remove()


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set the community up and wait for the camera to stream."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    stream = camera_entity(hass, "binary_sensor", "stream")
    await wait_for(hass, lambda: hass.states.get(stream).state == STATE_ON, 20)


@pytest.fixture
def photo_dir(hass: HomeAssistant) -> Path:
    """Let the enrol action read the media folder."""
    hass.config.allowlist_external_dirs = {str(MEDIA)}
    return MEDIA


async def show(sim: SimulatorProcess, file: str | None) -> None:
    """Make the simulated camera hold a still, or the empty scene."""
    if file is None:
        await sim.action(SIM_CAMERA, "blank", {})
    else:
        await sim.action(SIM_CAMERA, "show", {"file": file})


async def wait_for_event(
    hass: HomeAssistant,
    log: EventLog,
    event_type: str,
    check: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> dict[str, Any]:
    """Wait until the camera fires an event of a type that passes a check."""
    await wait_for(
        hass,
        lambda: any(check(event) for event in log.of(event_type)),
        RECOGNITION_SECONDS,
    )
    return next(event for event in log.of(event_type) if check(event))


async def enrol_resident(
    hass: HomeAssistant, entry: MockConfigEntry, photo: Path
) -> tuple[str, dict[str, Any] | None]:
    """Add the resident 李四 of building 1 and enrol a face photo; return the answer."""
    resident_id = await add_resident(hass, entry, name="李四", building="1")
    answer = await call(
        hass, "enroll_face", entry, resident_id=resident_id, path=str(photo)
    )
    return resident_id, answer


async def test_enrolled_resident_is_recognised_and_a_stranger_is_not(
    hass: HomeAssistant,
    start_simulator: StartSimulator,
    tmp_path: Path,
    photo_dir: Path,
) -> None:
    """Enrol one photo; another photo of the same person names them; a stranger is unknown."""
    sim = start_simulator(str(camera_scenario(tmp_path, "door")))
    await show(sim, None)
    await set_up(hass, camera_entry(camera_subentry(stream_url(sim), "door")))
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    # A lone camera's models run each invoke on both cores.
    recognizer = entry.runtime_data.recognizer
    assert recognizer is not None
    assert recognizer.models.threads == 2
    resident_photos, stranger_photos = resident_and_stranger()
    resident_id, answer = await enrol_resident(
        hass, entry, photo_dir / resident_photos[0]
    )
    assert answer == {"terminals": 0, "recognition_photos": 1}
    log = EventLog(hass)

    await show(sim, resident_photos[1])
    recognised = await wait_for_event(hass, log, "face_recognized")
    assert recognised["resident"] == "李四"
    assert recognised["resident_id"] == resident_id
    assert recognised["opened"] is False
    assert not log.of("face_unknown")
    image = hass.states.get(camera_entity(hass, "image", "last_match"))
    assert image is not None
    assert image.state != STATE_UNAVAILABLE

    await show(sim, stranger_photos[0])
    unknown = await wait_for_event(hass, log, "face_unknown")
    assert unknown["distance"] is not None
    # The stranger was never taken for the resident.
    assert len(log.of("face_recognized")) == 1
    log.close()


async def test_enrolment_refuses_a_photo_without_a_face(
    hass: HomeAssistant,
    start_simulator: StartSimulator,
    tmp_path: Path,
    photo_dir: Path,
) -> None:
    """A photo with no face changes nothing: no terminal job, no embedding."""
    sim = start_simulator(str(camera_scenario(tmp_path, "door")))
    await set_up(hass, camera_entry(camera_subentry(stream_url(sim), "door")))
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    resident_id = await add_resident(hass, entry, name="王五", building="1")
    background = media_index()["backgrounds"][0]["file"]
    with pytest.raises(ServiceValidationError) as raised:
        await call(
            hass,
            "enroll_face",
            entry,
            resident_id=resident_id,
            path=str(photo_dir / background),
        )
    assert raised.value.translation_key == "no_face_found"
    assert len(entry.runtime_data.face_gallery) == 0


async def test_photos_enrolled_before_any_camera_are_learnt_when_one_is_added(
    hass: HomeAssistant,
    start_simulator: StartSimulator,
    tmp_path: Path,
    photo_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Faces kept for the terminals are learnt by the first recognising camera.

    One kept photo holds no face: it is named in one warning, and the other
    resident is still learnt and recognised.
    """
    sim = start_simulator(str(camera_scenario(tmp_path, "door")))
    await show(sim, None)
    entry = camera_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.recognizer is None
    resident_photos, _ = resident_and_stranger()
    resident_id, answer = await enrol_resident(
        hass, entry, photo_dir / resident_photos[0]
    )
    assert answer == {"terminals": 0}
    faceless_id = await add_resident(hass, entry, name="王五", building="1")
    background = media_index()["backgrounds"][0]["file"]
    await call(
        hass,
        "enroll_face",
        entry,
        resident_id=faceless_id,
        path=str(photo_dir / background),
    )

    camera = camera_subentry(stream_url(sim), "door")
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=camera["data"],
            subentry_id=CAMERA_ID,
            subentry_type=camera["subentry_type"],
            title=camera["title"],
            unique_id=camera["unique_id"],
        ),
    )
    await hass.async_block_till_done()
    gallery = entry.runtime_data.face_gallery
    await wait_for(hass, lambda: gallery.count(resident_id) == 1, 20)
    await wait_for(hass, lambda: "enrol a new photo of" in caplog.text, 5)
    assert gallery.people == {resident_id}
    assert faceless_id in caplog.text
    stream = camera_entity(hass, "binary_sensor", "stream")
    await wait_for(hass, lambda: hass.states.get(stream).state == STATE_ON, 20)
    log = EventLog(hass)
    await show(sim, resident_photos[1])
    recognised = await wait_for_event(hass, log, "face_recognized")
    assert recognised["resident_id"] == resident_id
    log.close()


async def test_plates_are_read_and_a_registered_one_opens_the_lane(
    hass: HomeAssistant, start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """A gate-lane camera reads a green 8-character plate and a blue one.

    The registered car's plate opens the linked lane's gate; the other does not.
    """
    plates = {plate["file"]: plate for plate in media_index()["plates"]}
    # Holdout plates the reader gets right under sub-pixel shifts of the
    # detector's corners (40 of 40 shifts). The first green one, plates/0042,
    # loses its J in 1 shift of 7 on the camera's re-encoded frame, so whether
    # it passed would hang on a fraction of a pixel.
    green = plates["plates/0045.jpg"]
    blue = plates["plates/0041.jpg"]
    assert green["color"] == "green"
    assert blue["color"] == "blue"
    assert green["split"] == blue["split"] == "holdout"
    assert len(green["text"]) == 8
    sim = start_simulator(str(camera_scenario(tmp_path, "gate")))
    await show(sim, None)
    camera = camera_subentry(
        stream_url(sim), "gate_lane", **{CONF_LINK: f"lane:{ENTRY_LANE}"}
    )
    await set_up(hass, gate_entry(extra=[camera]))
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    resident_id = await add_resident(hass, entry, name="赵六", building="1")
    await call(hass, "add_vehicle", entry, resident_id=resident_id, plate=green["text"])
    lane = entry.runtime_data.lanes[ENTRY_LANE]
    log = EventLog(hass)

    await show(sim, green["file"])
    read = await wait_for_event(
        hass, log, "plate_read", lambda event: event["plate"] == green["text"]
    )
    assert read["verdict"] == "resident"
    assert read["resident_id"] == resident_id
    assert read["opened"] is True
    assert lane.open_command is OpenCommand.QUEUED

    await show(sim, blue["file"])
    read = await wait_for_event(
        hass, log, "plate_read", lambda event: event["plate"] == blue["text"]
    )
    assert read["verdict"] == "unknown"
    assert read["opened"] is False
    assert all(
        event["plate"] in {green["text"], blue["text"]}
        for event in log.of("plate_read")
    )
    log.close()


async def test_ebike_in_the_elevator(
    hass: HomeAssistant,
    start_simulator: StartSimulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An e-bike turns the elevator sensor on with one event; it turns off once gone."""
    monkeypatch.setattr(cameras, "EBIKE_CLEAR_SECONDS", 1.0)
    ebike = next(
        item
        for item in media_index()["objects"]
        if {"motorcycle", "bicycle"} & set(item["labels"])
    )
    sim = start_simulator(str(camera_scenario(tmp_path, "elevator")))
    await show(sim, None)
    await set_up(hass, camera_entry(camera_subentry(stream_url(sim), "elevator")))
    sensor = camera_entity(hass, "binary_sensor", "ebike")
    assert hass.states.get(sensor).state == STATE_OFF
    log = EventLog(hass)

    await show(sim, ebike["file"])
    detected = await wait_for_event(hass, log, "ebike_detected")
    assert detected["label"] in {"motorcycle", "bicycle"}
    assert hass.states.get(sensor).state == STATE_ON

    await show(sim, None)
    await wait_for(
        hass, lambda: hass.states.get(sensor).state == STATE_OFF, RECOGNITION_SECONDS
    )
    assert len(log.of("ebike_detected")) == 1
    log.close()


async def test_without_the_runtime_cameras_stream_and_a_repair_explains(
    hass: HomeAssistant, start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """Where LiteRT cannot be installed (musl), nothing else breaks."""
    sim = start_simulator(str(camera_scenario(tmp_path, "elevator")))
    with patch(
        "custom_components.smart_community.recognition.async_process_requirements",
        side_effect=RequirementsNotFound(DOMAIN, ["ai-edge-litert==2.3.0"]),
    ):
        await set_up(hass, camera_entry(camera_subentry(stream_url(sim), "elevator")))
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"recognition_runtime_missing_{entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["requirement"] == "ai-edge-litert==2.3.0"
    assert entry.runtime_data.recognizer is None
    # The stream still shows; recognition entities say they cannot tell.
    camera = camera_entity(hass, "camera", "camera")
    assert hass.states.get(camera).state != STATE_UNAVAILABLE
    assert (
        hass.states.get(camera_entity(hass, "binary_sensor", "ebike")).state
        == STATE_UNAVAILABLE
    )
    # Enrolment still works for the terminals, without learning the face.
    resident_id = await add_resident(hass, entry, name="钱七", building="1")
    photo = resident_and_stranger()[0][0]
    hass.config.allowlist_external_dirs = {str(MEDIA)}
    answer = await call(
        hass, "enroll_face", entry, resident_id=resident_id, path=str(MEDIA / photo)
    )
    assert answer == {"terminals": 0}


async def test_unusable_models_folder_raises_a_repair(
    hass: HomeAssistant, start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """A broken model file in an own folder is an error repair, not a crash."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "coco_detector.tflite").write_bytes(b"not a model")
    sim = start_simulator(str(camera_scenario(tmp_path, "elevator")))
    await set_up(
        hass,
        camera_entry(
            camera_subentry(
                stream_url(sim), "elevator", **{CONF_MODELS_FOLDER: str(folder)}
            )
        ),
    )
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"recognition_models_unusable_{entry.entry_id}_{folder}"
    )
    assert issue is not None
    assert "coco_detector.tflite" in issue.translation_placeholders["error"]
    assert entry.runtime_data.cameras[CAMERA_ID].recognizer is None


async def test_camera_flow(
    hass: HomeAssistant, start_simulator: StartSimulator, tmp_path: Path
) -> None:
    """The flow checks the address, the link and the stream before saving."""
    sim = start_simulator(str(camera_scenario(tmp_path, "door")))
    entry = gate_entry()
    await set_up_without_camera(hass, entry)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_CAMERA), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.FORM
    base = {
        CONF_NAME: "正门 摄像机",
        CONF_STREAM_URL: "ftp://camera/1",
        CONF_ROLE: "door",
        CONF_ANALYSIS_RATE: 2,
    }
    result = await configure(hass, result, base)
    assert result["errors"] == {CONF_STREAM_URL: "invalid_stream_url"}
    result = await configure(
        hass,
        result,
        base | {CONF_STREAM_URL: stream_url(sim), CONF_LINK: f"lane:{ENTRY_LANE}"},
    )
    assert result["errors"] == {CONF_LINK: "link_role_mismatch"}
    result = await configure(
        hass,
        result,
        base
        | {
            CONF_STREAM_URL: stream_url(sim),
            CONF_MODELS_FOLDER: str(tmp_path / "none"),
        },
    )
    assert result["errors"] == {CONF_MODELS_FOLDER: "models_folder_missing"}
    closed = f"http://127.0.0.1:{free_port()}/mjpeg"
    result = await configure(hass, result, base | {CONF_STREAM_URL: closed})
    assert result["errors"] == {"base": "cannot_open_stream"}
    assert result["description_placeholders"]["error"]
    result = await configure(
        hass,
        result,
        base
        | {
            CONF_STREAM_URL: stream_url(sim),
            CONF_ROLE: "gate_lane",
            CONF_LINK: f"lane:{ENTRY_LANE}",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    camera = next(iter(entry.get_subentries_of_type(SUBENTRY_TYPE_CAMERA)))
    assert camera.data[CONF_LINK] == f"lane:{ENTRY_LANE}"
    assert camera.data[CONF_ANALYSIS_RATE] == 2.0
    # Distant faces are off unless asked for; the camera's watch gets the choice.
    assert camera.data[CONF_DISTANT_FACES] is False
    assert camera_config(camera).distant_faces is False
    assert camera_config(
        ConfigSubentry(
            data={**camera.data, CONF_DISTANT_FACES: True},
            subentry_type=SUBENTRY_TYPE_CAMERA,
            title=camera.title,
            unique_id=None,
        )
    ).distant_faces
    # The same stream cannot be added twice.
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_TYPE_CAMERA), context={"source": "user"}
    )
    result = await configure(
        hass, result, base | {CONF_NAME: "另一个", CONF_STREAM_URL: stream_url(sim)}
    )
    assert result["errors"] == {CONF_STREAM_URL: "camera_already_configured"}


async def set_up_without_camera(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set up a community that has no camera yet."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def configure(
    hass: HomeAssistant, result: Any, user_input: dict[str, Any]
) -> Any:
    """Submit a subentry form."""
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"], user_input
    )


async def test_diagnostics_hide_stream_credentials(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    start_simulator: StartSimulator,
    tmp_path: Path,
) -> None:
    """Stream passwords never reach diagnostics; the camera's state does."""
    sim = start_simulator(
        str(camera_scenario(tmp_path, "door", username="admin", password="s3cret-pw"))
    )
    url = stream_url(sim).replace("http://", "http://admin:s3cret-pw@")
    await set_up(hass, camera_entry(camera_subentry(url, "door")))
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert "s3cret-pw" not in json.dumps(diagnostics)
    camera = diagnostics["recognition"]["cameras"][CAMERA_ID]
    assert camera["distant_faces"] is False
    assert camera["stream_state"] == "streaming"
    assert camera["url"].startswith("http://**@127.0.0.1:")
    assert diagnostics["recognition"]["recognition_available"] is True
    await asyncio.sleep(0)


async def test_a_recognised_resident_opens_the_linked_door(
    hass: HomeAssistant,
    start_simulator: StartSimulator,
    tmp_path: Path,
    photo_dir: Path,
) -> None:
    """A door camera opens its terminal's door for a resident of that building."""
    scenario = json.loads(camera_scenario(tmp_path, "door").read_text("utf-8"))
    scenario["devices"].append(
        {
            "id": "face-1",
            "kind": "face_terminal",
            "building": "1",
            "name": "1号楼 单元门禁",
            "options": QUICK,
        }
    )
    path = tmp_path / "door.json"
    path.write_text(json.dumps(scenario, ensure_ascii=False), "utf-8")
    sim = start_simulator(str(path))
    await show(sim, None)
    terminal = ConfigSubentryData(
        data=terminal_data(sim),
        subentry_id="terminal-1",
        subentry_type=SUBENTRY_TYPE_FACE_TERMINAL,
        title="1号楼 单元门禁",
        unique_id="face_terminal_SIM-FACE-0101",
    )
    camera = camera_subentry(
        stream_url(sim), "door", **{CONF_LINK: "door:terminal-1:1"}
    )
    await set_up(hass, camera_entry(terminal, camera))
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    resident_photos, _ = resident_and_stranger()
    resident_id = await add_resident(hass, entry, name="孙八", building="1")
    await call(
        hass,
        "enroll_face",
        entry,
        resident_id=resident_id,
        path=str(photo_dir / resident_photos[0]),
    )
    log = EventLog(hass)
    await show(sim, resident_photos[-1])
    recognised = await wait_for_event(hass, log, "face_recognized")
    assert recognised["resident_id"] == resident_id
    assert recognised["opened"] is True

    # The terminal logs the remote open, which comes back as its access event.
    access = er.async_get(hass).async_get_entity_id(
        "event", DOMAIN, "terminal-1_access"
    )
    assert access is not None
    await wait_for(
        hass,
        lambda: (
            hass.states.get(access).attributes.get("event_type") == "access_granted"
        ),
        RECOGNITION_SECONDS,
    )
    log.close()
