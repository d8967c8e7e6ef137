"""Test emergency broadcast: HA sends RTP G.711 to simulated paging speakers.

The simulator plays two speaker zones (μ-law and A-law) that check every RTP
header and report what they heard; a test TTS engine says a tone of
known length.
"""

from pathlib import Path
from typing import Any

from homeassistant.components.media_player import (
    ATTR_MEDIA_VOLUME_LEVEL,
    ATTR_MEDIA_VOLUME_MUTED,
    MediaPlayerState,
)
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smart_community.const import (
    CONF_BUILDING,
    CONF_CHIME,
    CONF_CODEC,
    CONF_TTL,
    DOMAIN,
    SUBENTRY_TYPE_SPEAKER_ZONE,
)
from custom_components.smart_community.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.smart_community.protocols.rtp_paging import (
    G711,
    chime,
    transcode,
)
from tests.simulator_harness import SimulatorProcess, StartSimulator

from .safety_helpers import safety_entity, safety_entry, scenario_with
from .speech import ENGINE, SPEECH_SECONDS, async_setup_speech, speech_mp3
from .test_gate_simulator import wait_until

ZONES = [
    {
        "id": "speaker-1",
        "kind": "speaker_zone",
        "building": "1",
        "name": "1号楼 广播分区",
        "options": {"codec": "PCMU", "speakers": 4, "gap_ms": 400},
    },
    {
        "id": "speaker-2",
        "kind": "speaker_zone",
        "building": "1",
        "name": "1号楼 地库广播",
        "options": {"codec": "PCMA", "speakers": 2, "gap_ms": 400},
    },
]


def zone_subentry(
    zone_id: str, title: str, port: int, codec: str, *, chime_first: bool = False
) -> ConfigSubentryData:
    """Describe a speaker zone subentry as the flow stores it."""
    return ConfigSubentryData(
        data={
            CONF_BUILDING: "1",
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            CONF_CODEC: codec,
            CONF_TTL: 16,
            CONF_CHIME: chime_first,
        },
        subentry_id=zone_id,
        subentry_type=SUBENTRY_TYPE_SPEAKER_ZONE,
        title=title,
        unique_id=f"127.0.0.1:{port}",
    )


@pytest.fixture
async def zones(
    hass: HomeAssistant, start_simulator: StartSimulator, tmp_path: Path
) -> tuple[MockConfigEntry, SimulatorProcess]:
    """Start two simulated zones, a community with them, and the demo TTS."""
    sim = start_simulator(scenario_with(tmp_path, ZONES))
    entry = safety_entry(
        zone_subentry(
            "zone-1", "1号楼 广播分区", sim.device("speaker-1")["port"], "PCMU"
        ),
        zone_subentry(
            "zone-2", "1号楼 地库广播", sim.device("speaker-2")["port"], "PCMA"
        ),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await async_setup_speech(hass)
    return entry, sim


async def heard(sim: SimulatorProcess, zone: str) -> list[dict[str, Any]]:
    """Return the announcements a zone has heard."""
    return list((await sim.snapshot(zone))["state"]["announcements"])


async def complete(sim: SimulatorProcess, zone: str, count: int = 1) -> bool:
    """Tell whether a zone has heard ``count`` complete announcements."""
    done = [a for a in await heard(sim, zone) if a["complete"]]
    return len(done) >= count


async def broadcast(hass: HomeAssistant, entry: MockConfigEntry, **data: Any) -> Any:
    """Call the broadcast action."""
    return await hass.services.async_call(
        DOMAIN,
        "broadcast",
        {"config_entry_id": entry.entry_id, "tts_engine": ENGINE, **data},
        blocking=True,
        return_response=True,
    )


def demo_seconds(codec: G711, *, with_chime: bool = False) -> float:
    """Return how long the test engine's speech lasts as G.711, chime included."""
    audio = transcode(speech_mp3(), codec)
    # MP3 adds a little encoder padding.
    assert SPEECH_SECONDS * 8000 <= len(audio) < (SPEECH_SECONDS + 0.2) * 8000
    extra = len(chime(codec)) if with_chime else 0
    return (len(audio) + extra) / 8000


async def test_broadcast_reaches_both_zones_complete(
    hass: HomeAssistant, zones: tuple[MockConfigEntry, SimulatorProcess]
) -> None:
    """A broadcast plays in full in each zone, in its codec, with no gaps."""
    entry, sim = zones
    answer = await broadcast(hass, entry, message="请注意 消防演练即将开始")
    assert sorted(answer["zones"]) == ["1号楼 地库广播", "1号楼 广播分区"]
    for zone, codec in (("speaker-1", G711.PCMU), ("speaker-2", G711.PCMA)):
        await wait_until(hass, lambda z=zone: complete(sim, z), seconds=30)
        (announcement,) = await heard(sim, zone)
        assert announcement["codec_ok"] is True
        assert announcement["payload_type"] == codec.payload_type
        assert announcement["sequence_gaps"] == 0
        assert announcement["timestamp_errors"] == 0
        assert announcement["marker_first"] is True
        expected = demo_seconds(codec)
        # Whole 20 ms packets: the last one is padded with silence.
        assert abs(announcement["duration_s"] - expected) <= max(0.01 * expected, 0.02)
        assert announcement["level_dbfs"] > -40
    player = safety_entity(hass, "media_player", "zone-1_player")
    await wait_until(
        hass, lambda: _state_is(hass, player, MediaPlayerState.IDLE), seconds=5
    )
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["broadcast_zones"]["1号楼 地库广播"] == {
        "codec": "PCMA",
        "port": sim.device("speaker-2")["port"],
        "volume": 1.0,
        "muted": False,
        "chime": False,
        "playing": None,
    }


async def _state_is(hass: HomeAssistant, entity_id: str, state: str) -> bool:
    """Tell whether an entity is in a state."""
    return hass.states.get(entity_id).state == state


async def test_evacuation_preempts_and_normal_is_refused(
    hass: HomeAssistant, zones: tuple[MockConfigEntry, SimulatorProcess]
) -> None:
    """Evacuation cuts a normal announcement short; a normal one is then refused."""
    entry, sim = zones
    await broadcast(
        hass,
        entry,
        message="通知",
        repeat=5,
        zones=[safety_entity(hass, "media_player", "zone-1_player")],
    )
    player = safety_entity(hass, "media_player", "zone-1_player")
    assert hass.states.get(player).state == MediaPlayerState.PLAYING
    await broadcast(hass, entry, message="疏散", priority="evacuation", repeat=3)
    with pytest.raises(HomeAssistantError) as refused:
        await broadcast(hass, entry, message="普通通知")
    assert refused.value.translation_key == "zone_busy"
    await wait_until(hass, lambda: complete(sim, "speaker-1", 2), seconds=60)
    first, second = (await heard(sim, "speaker-1"))[:2]
    assert first["duration_s"] < 5 * demo_seconds(G711.PCMU)
    assert second["duration_s"] > 3 * demo_seconds(G711.PCMU)


async def test_player_volume_mute_and_stop(
    hass: HomeAssistant, zones: tuple[MockConfigEntry, SimulatorProcess]
) -> None:
    """Volume lowers the level heard; a muted zone hears only evacuations; stop."""
    entry, sim = zones
    player = safety_entity(hass, "media_player", "zone-1_player")
    await hass.services.async_call(
        "media_player",
        "volume_set",
        {"entity_id": player, ATTR_MEDIA_VOLUME_LEVEL: 0.25},
        blocking=True,
    )
    assert hass.states.get(player).attributes[ATTR_MEDIA_VOLUME_LEVEL] == 0.25
    await broadcast(hass, entry, message="音量测试", zones=[player])
    await wait_until(hass, lambda: complete(sim, "speaker-1"), seconds=30)
    await broadcast(
        hass, entry, message="音量测试", zones=[player], priority="evacuation"
    )
    await wait_until(hass, lambda: complete(sim, "speaker-1", 2), seconds=30)
    quiet, loud = await heard(sim, "speaker-1")
    # 0.25 is -12 dB; an evacuation plays at full volume.
    assert loud["level_dbfs"] - quiet["level_dbfs"] == pytest.approx(12, abs=1.5)

    await hass.services.async_call(
        "media_player",
        "volume_mute",
        {"entity_id": player, ATTR_MEDIA_VOLUME_MUTED: True},
        blocking=True,
    )
    await broadcast(hass, entry, message="静音", zones=[player])
    await broadcast(
        hass, entry, message="长通知", zones=[player], priority="evacuation", repeat=5
    )
    await hass.services.async_call(
        "media_player", "media_stop", {"entity_id": player}, blocking=True
    )
    await wait_until(hass, lambda: complete(sim, "speaker-1", 3), seconds=30)
    announcements = await heard(sim, "speaker-1")
    assert len(announcements) == 3
    assert announcements[2]["duration_s"] < 5 * demo_seconds(G711.PCMU)


async def test_play_media_and_errors(
    hass: HomeAssistant,
    zones: tuple[MockConfigEntry, SimulatorProcess],
    tmp_path: Path,
) -> None:
    """play_media takes TTS and files; bad media and missing zones are refused."""
    entry, sim = zones
    all_call = safety_entity(hass, "media_player", f"{entry.entry_id}_all_call")
    await hass.services.async_call(
        "media_player",
        "play_media",
        {
            "entity_id": all_call,
            "media_content_type": "music",
            "media_content_id": f"media-source://tts/{ENGINE}?message=hello",
            "announce": True,
        },
        blocking=True,
    )
    for zone in ("speaker-1", "speaker-2"):
        await wait_until(hass, lambda z=zone: complete(sim, z), seconds=30)

    hass.config.allowlist_external_dirs = {str(tmp_path)}
    garbage = tmp_path / "not_audio.mp3"
    garbage.write_bytes(b"this is not audio" * 100)
    with pytest.raises(HomeAssistantError) as bad:
        await hass.services.async_call(
            "media_player",
            "play_media",
            {
                "entity_id": all_call,
                "media_content_type": "music",
                "media_content_id": str(garbage),
            },
            blocking=True,
        )
    assert bad.value.translation_key in ("unsupported_media", "media_unavailable")

    with pytest.raises(ServiceValidationError) as not_zone:
        await broadcast(hass, entry, message="x", zones=["media_player.nowhere"])
    assert not_zone.value.translation_key == "not_a_zone"
    with pytest.raises(ServiceValidationError) as none:
        await broadcast(hass, entry, message="x", building="9")
    assert none.value.translation_key == "no_zones"


async def test_zone_flow(hass: HomeAssistant) -> None:
    """The zone flow refuses names and addresses taken and hosts that do not resolve."""
    entry = safety_entry(zone_subentry("zone-1", "1号楼 广播分区", 50000, "PCMU"))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)

    async def submit(**changes: Any) -> Any:
        result = await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_TYPE_SPEAKER_ZONE), context={"source": "user"}
        )
        form = {
            CONF_NAME: "2号楼 广播分区",
            CONF_HOST: "239.255.0.2",
            CONF_PORT: 50002,
            CONF_CODEC: "PCMA",
            CONF_TTL: 4,
            CONF_CHIME: True,
            **changes,
        }
        return await hass.config_entries.subentries.async_configure(
            result["flow_id"], form
        )

    assert (await submit(**{CONF_NAME: "1号楼 广播分区"}))["errors"] == {
        CONF_NAME: "zone_exists"
    }
    assert (await submit(**{CONF_HOST: "127.0.0.1", CONF_PORT: 50000}))["errors"] == {
        CONF_HOST: "zone_already_configured"
    }
    assert (await submit(**{CONF_HOST: "not a host!"}))["errors"] == {
        CONF_HOST: "invalid_host"
    }
    result = await submit()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_TTL] == 4


async def test_queued_broadcast_plays_after_the_evacuation(
    hass: HomeAssistant, zones: tuple[MockConfigEntry, SimulatorProcess]
) -> None:
    """With wait, a normal message queues behind an evacuation and plays after it."""
    entry, sim = zones
    await broadcast(hass, entry, message="疏散", priority="evacuation", building="1")
    answer = await broadcast(hass, entry, message="通知", wait=True)
    assert len(answer["zones"]) == 2
    for zone in ("speaker-1", "speaker-2"):
        await wait_until(hass, lambda z=zone: complete(sim, z, 2), seconds=60)


async def test_broadcast_without_text_to_speech(hass: HomeAssistant) -> None:
    """Without a TTS engine the action says so; nothing is sent."""
    entry = safety_entry(zone_subentry("zone-1", "1号楼 广播分区", 50000, "PCMU"))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    with pytest.raises(HomeAssistantError) as missing:
        await hass.services.async_call(
            DOMAIN,
            "broadcast",
            {"config_entry_id": entry.entry_id, "message": "测试"},
            blocking=True,
            return_response=True,
        )
    assert missing.value.translation_key == "tts_unavailable"
    await async_setup_speech(hass)
    with pytest.raises(HomeAssistantError) as failed:
        await broadcast(hass, entry, message="测试", language="xx-unknown")
    assert failed.value.translation_key == "tts_failed"
