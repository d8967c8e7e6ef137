"""Test the simulated paging speaker zone with an RTP sender written here.

The simulator runs as a subprocess from a scenario written into ``tmp_path``;
the test plays the paging source with its own few lines of RTP and G.711
encoding (the textbook segment search), not with the integration's code, so
that a codec bug cannot cancel out on both sides. The decoders, the RTP parser
and the announcement tracker are tested in-process too.
"""

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
import json
import math
from pathlib import Path
import socket
import struct
from typing import Any, Final

import pytest

from simulator.devices.paging.g711 import PCMA, PCMU, alaw_to_linear, ulaw_to_linear
from simulator.devices.paging.listening import AnnouncementTracker
from simulator.devices.paging.rtp import RtpError, is_rtcp, parse_rtp
from simulator.devices.speaker_zone import SpeakerZone
from simulator.scenario import parse_scenario
from tests.simulator_harness import (
    SimulatorProcess,
    SimulatorRequestError,
    StartSimulator,
)

ULAW_ZONE: Final = "zone-u"
ALAW_ZONE: Final = "zone-a"
GROUP: Final = "239.255.0.1"
GAP_MS: Final = 300
LOCALHOST: Final = "127.0.0.1"
RATE: Final = 8000
FRAME: Final = 160
FRAME_SECONDS: Final = FRAME / RATE
TONE_HZ: Final = 1000
TONE_PEAK_DBFS: Final = -10.0
# A sine's RMS is its peak over √2.
TONE_RMS_DBFS: Final = TONE_PEAK_DBFS - 20 * math.log10(math.sqrt(2))
WAIT_SECONDS: Final = 10.0
PT_PCMU: Final = 0
PT_PCMA: Final = 8


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Skip Home Assistant: only the simulator runs here."""


# --- the sender: G.711 encoders, RTP packets, pacing --------------------------------


def ulaw_encode(sample: int) -> int:
    """Compress one 16-bit sample to μ-law (bias 0x84, clip 32635)."""
    sign = 0x80 if sample < 0 else 0
    biased = min(abs(sample), 32635) + 0x84
    exponent = biased.bit_length() - 8
    mantissa = (biased >> (exponent + 3)) & 0x0F
    return ~(sign | exponent << 4 | mantissa) & 0xFF


def alaw_encode(sample: int) -> int:
    """Compress one 16-bit sample to A-law (13-bit magnitude, even bits inverted)."""
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(abs(sample), 32767) >> 3
    if magnitude < 32:
        exponent, mantissa = 0, magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        mantissa = (magnitude >> exponent) & 0x0F
    return (sign | exponent << 4 | mantissa) ^ 0x55


def tone(encode: Callable[[int], int], samples: int = FRAME) -> bytes:
    """Return a 1 kHz sine at -10 dBFS peak, encoded."""
    peak = 32768 * 10 ** (TONE_PEAK_DBFS / 20)
    return bytes(
        encode(round(peak * math.sin(2 * math.pi * TONE_HZ * n / RATE)))
        for n in range(samples)
    )


ULAW_TONE: Final = tone(ulaw_encode)
ALAW_TONE: Final = tone(alaw_encode)
ULAW_SILENCE: Final = bytes([0xFF]) * FRAME


def rtp(
    sequence: int,
    timestamp: int,
    ssrc: int,
    payload_type: int,
    payload: bytes,
    *,
    marker: bool = False,
) -> bytes:
    """Build an RTP packet: version 2, no padding, extension or CSRC."""
    header = struct.pack(
        "!BBHII",
        0x80,
        (0x80 if marker else 0) | payload_type,
        sequence & 0xFFFF,
        timestamp & 0xFFFFFFFF,
        ssrc,
    )
    return header + payload


def stream(
    count: int,
    ssrc: int,
    *,
    payload_type: int = PT_PCMU,
    payloads: Sequence[bytes] = (ULAW_TONE,),
    sequence: int = 1000,
    timestamp: int = 160_000,
    marker: bool = True,
) -> list[bytes]:
    """Return ``count`` consecutive 20 ms packets, the first with the marker."""
    return [
        rtp(
            sequence + index,
            timestamp + index * FRAME,
            ssrc,
            payload_type,
            payloads[index % len(payloads)],
            marker=marker and index == 0,
        )
        for index in range(count)
    ]


async def send_paced(port: int, packets: Iterable[bytes], group: str = "") -> None:
    """Send one packet every 20 ms on absolute deadlines, from a socket of its own."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        if group:
            sock.setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LOCALHOST)
            )
        destination = (group or LOCALHOST, port)
        start = loop.time()
        for index, packet in enumerate(packets):
            if (delay := start + index * FRAME_SECONDS - loop.time()) > 0:
                await asyncio.sleep(delay)
            sock.sendto(packet, destination)


def send_now(port: int, *datagrams: bytes) -> None:
    """Send datagrams at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in datagrams:
            sock.sendto(datagram, (LOCALHOST, port))


# --- the simulator ------------------------------------------------------------------


def scenario_document() -> dict[str, Any]:
    """Return a scenario with a μ-law zone (also in a group) and an A-law zone."""
    return {
        "community": {"name": "广播苑"},
        "buildings": [
            {"id": "1", "name": "1号楼", "units": 1, "floors": 6, "rooms_per_floor": 2}
        ],
        "devices": [
            {
                "id": ULAW_ZONE,
                "kind": "speaker_zone",
                "building": "1",
                "name": "1号楼 广播分区",
                "options": {
                    "codec": "PCMU",
                    "speakers": 4,
                    "gap_ms": GAP_MS,
                    "multicast_group": GROUP,
                },
            },
            {
                "id": ALAW_ZONE,
                "kind": "speaker_zone",
                "building": None,
                "name": "地库 广播分区",
                "options": {"codec": "PCMA", "gap_ms": GAP_MS, "history": 3},
            },
        ],
    }


@pytest.fixture
def sim(start_simulator: StartSimulator, tmp_path: Path) -> SimulatorProcess:
    """Run the two zones."""
    path = tmp_path / "zones.json"
    path.write_text(json.dumps(scenario_document(), ensure_ascii=False), "utf-8")
    return start_simulator(path)


async def quiet_state(sim: SimulatorProcess, zone: str) -> dict[str, Any]:
    """Wait until the zone has no announcement in progress; return its state."""
    state = await sim.action(zone, "wait_quiet", {"seconds": WAIT_SECONDS})
    assert state["in_progress"] == 0, state
    return state


def by_ssrc(state: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Index a zone's announcements by SSRC (each SSRC once)."""
    announcements = state["announcements"]
    indexed = {item["ssrc"]: item for item in announcements}
    assert len(indexed) == len(announcements)
    return indexed


# --- over UDP -----------------------------------------------------------------------


async def test_tones_are_measured(sim: SimulatorProcess) -> None:
    """1 s of a 1 kHz tone at -10 dBFS, as 50 paced packets, to each zone."""
    ulaw_port = sim.device(ULAW_ZONE)["port"]
    alaw_port = sim.device(ALAW_ZONE)["port"]
    assert sim.device(ULAW_ZONE)["protocol"] == "rtp-g711"
    assert sim.device(ULAW_ZONE)["codec"] == "PCMU"
    assert sim.device(ALAW_ZONE)["codec"] == "PCMA"
    await asyncio.gather(
        send_paced(ulaw_port, stream(50, 0x11111111)),
        send_paced(
            alaw_port,
            stream(50, 0x22222222, payload_type=PT_PCMA, payloads=[ALAW_TONE]),
        ),
    )

    for zone, ssrc, payload_type in (
        (ULAW_ZONE, 0x11111111, PT_PCMU),
        (ALAW_ZONE, 0x22222222, PT_PCMA),
    ):
        state = await quiet_state(sim, zone)
        assert state["packets_total"] == 50
        assert (state["malformed"], state["dropped"]) == (0, 0)
        assert state["listening"] is True
        assert state["payload_type"] == payload_type
        [played] = state["announcements"]
        assert played["ssrc"] == ssrc
        assert played["payload_type"] == payload_type
        assert played["codec_ok"] is True
        assert played["complete"] is True
        assert played["packets"] == 50
        assert played["bytes"] == 50 * FRAME
        assert played["duration_s"] == pytest.approx(1.0, abs=FRAME_SECONDS)
        assert played["sequence_gaps"] == 0
        assert (played["out_of_order"], played["duplicates"]) == (0, 0)
        assert played["timestamp_errors"] == 0
        assert played["marker_first"] is True
        assert played["payload_sizes"] == [FRAME]
        assert played["max_gap_ms"] == 0
        assert played["level_dbfs"] == pytest.approx(TONE_RMS_DBFS, abs=1.5)
        assert played["peak_dbfs"] == pytest.approx(TONE_PEAK_DBFS, abs=0.5)
        assert played["silent_fraction"] == 0
        intervals = played["interval_ms"]
        assert intervals["mean"] == pytest.approx(20, abs=5)
        assert intervals["max"] >= intervals["p99"] >= 0
        assert intervals["stdev"] >= 0
        # The wall time is the arrivals' span plus the last packet's 20 ms.
        assert played["wall_s"] == pytest.approx(
            49 * intervals["mean"] / 1000 + FRAME_SECONDS, abs=0.002
        )
        started = datetime.fromisoformat(played["started_at"])
        assert datetime.fromisoformat(played["ended_at"]) >= started
        assert played["malformed"] == 0


async def test_stream_faults_per_sender(sim: SimulatorProcess) -> None:
    """Concurrent senders, each with its own fault, are measured separately."""
    port = sim.device(ULAW_ZONE)["port"]
    wrong_codec = stream(25, 1, payload_type=PT_PCMA, payloads=[ALAW_TONE])
    dropped = stream(25, 2)
    del dropped[12]
    # From the 13th packet on, the clock runs 10 ms ahead.
    jumped = stream(12, 3) + stream(
        13, 3, sequence=1012, timestamp=160_000 + 12 * FRAME + 80, marker=False
    )
    wrapping = stream(25, 4, sequence=65530, timestamp=(1 << 32) - 800)
    reordered = stream(25, 5)
    reordered[10], reordered[11] = reordered[11], reordered[10]
    reordered.insert(16, reordered[15])
    half_silent = stream(20, 6, payloads=[ULAW_TONE, ULAW_SILENCE])
    await asyncio.gather(
        *(
            send_paced(port, packets)
            for packets in (
                wrong_codec,
                dropped,
                jumped,
                wrapping,
                reordered,
                half_silent,
            )
        )
    )
    state = await quiet_state(sim, ULAW_ZONE)
    announcements = by_ssrc(state)
    assert len(announcements) == 6
    assert all(item["complete"] for item in announcements.values())
    # Each sender came from its own socket.
    assert len({item["source"] for item in announcements.values()}) == 6

    mismatch = announcements[1]
    assert (mismatch["payload_type"], mismatch["codec"]) == (PT_PCMA, "PCMA")
    assert mismatch["codec_ok"] is False
    assert mismatch["level_dbfs"] == pytest.approx(TONE_RMS_DBFS, abs=1.5)
    assert all(announcements[ssrc]["codec_ok"] for ssrc in (2, 3, 4, 5, 6))

    gap = announcements[2]
    assert (gap["packets"], gap["sequence_gaps"], gap["timestamp_errors"]) == (
        24,
        1,
        0,
    )
    assert gap["duration_s"] == pytest.approx(0.5)
    assert gap["max_gap_ms"] == pytest.approx(20)

    jump = announcements[3]
    assert (jump["packets"], jump["sequence_gaps"], jump["timestamp_errors"]) == (
        25,
        0,
        1,
    )
    assert jump["duration_s"] == pytest.approx(0.51)
    assert jump["max_gap_ms"] == pytest.approx(10)

    wrap = announcements[4]
    assert (wrap["packets"], wrap["sequence_gaps"], wrap["timestamp_errors"]) == (
        25,
        0,
        0,
    )
    assert (wrap["out_of_order"], wrap["duplicates"]) == (0, 0)
    assert wrap["duration_s"] == pytest.approx(0.5)

    shuffled = announcements[5]
    assert (shuffled["packets"], shuffled["out_of_order"], shuffled["duplicates"]) == (
        26,
        1,
        1,
    )
    assert (shuffled["sequence_gaps"], shuffled["timestamp_errors"]) == (0, 0)

    silent = announcements[6]
    assert silent["silent_fraction"] == pytest.approx(0.5)
    # Half the power of the tone: 3 dB down.
    assert silent["level_dbfs"] == pytest.approx(TONE_RMS_DBFS - 3.01, abs=1.5)
    assert state["packets_total"] == 25 + 24 + 25 + 25 + 26 + 20


async def test_silence_splits_announcements(sim: SimulatorProcess) -> None:
    """One SSRC that pauses longer than gap_ms makes two announcements."""
    port = sim.device(ULAW_ZONE)["port"]
    await send_paced(port, stream(5, 7))
    first = await quiet_state(sim, ULAW_ZONE)
    assert [item["complete"] for item in first["announcements"]] == [True]
    await send_paced(port, stream(8, 7, sequence=1005, timestamp=160_000 + 5 * FRAME))
    state = await quiet_state(sim, ULAW_ZONE)
    assert [item["ssrc"] for item in state["announcements"]] == [7, 7]
    assert [item["packets"] for item in state["announcements"]] == [5, 8]
    assert state["announcements"][1]["marker_first"] is True


async def test_bad_datagrams_and_header_fields(sim: SimulatorProcess) -> None:
    """Garbage counts as malformed; CSRCs, extensions, padding and RTCP are handled."""
    port = sim.device(ULAW_ZONE)["port"]
    version_one = bytes([0x40]) + rtp(1, 0, 9, PT_PCMU, ULAW_TONE)[1:]
    # Two CSRCs announced, one present.
    cut_csrc = bytes([0x82]) + rtp(1, 0, 9, PT_PCMU, b"")[1:] + b"\x00\x00\x00\x01"
    rtcp_receiver_report = struct.pack("!BBHI", 0x80, 201, 1, 9)
    # CSRC count 1, a one-word extension and 4 bytes of padding around 160 bytes.
    full = (
        struct.pack("!BBHII", 0xB1, 0x80 | PT_PCMU, 50, 0, 9)
        + struct.pack("!I", 0xCAFE)
        + struct.pack("!HHI", 0xBEDE, 1, 0)
        + ULAW_TONE
        + b"\x00\x00\x00\x04"
    )
    send_now(port, full, b"hello, speaker", version_one, cut_csrc)
    send_now(port, rtcp_receiver_report)
    state = await quiet_state(sim, ULAW_ZONE)
    assert (state["malformed"], state["rtcp"], state["packets_total"]) == (3, 1, 1)
    [played] = state["announcements"]
    assert played["payload_sizes"] == [FRAME]
    assert played["marker_first"] is True
    # The garbage came from the same socket while the announcement played.
    assert played["malformed"] == 3


async def test_block_reset_and_actions(sim: SimulatorProcess) -> None:
    """A blocked zone drops datagrams; reset forgets; bad parameters are refused."""
    port = sim.device(ALAW_ZONE)["port"]
    state = await sim.action(ALAW_ZONE, "block")
    assert (state["blocked"], state["listening"]) == (True, False)
    send_now(port, *stream(5, 8, payload_type=PT_PCMA, payloads=[ALAW_TONE]))
    state = await sim.action(ALAW_ZONE, "state")
    for _ in range(100):
        if state["dropped"] == 5:
            break
        await asyncio.sleep(0.05)
        state = await sim.action(ALAW_ZONE, "state")
    assert (state["dropped"], state["packets_total"]) == (5, 0)
    assert state["announcements"] == []
    state = await sim.action(ALAW_ZONE, "unblock")
    assert (state["blocked"], state["listening"]) == (False, True)

    # history 3: four announcements keep the newest three.
    for ssrc in (10, 11, 12, 13):
        send_now(port, *stream(2, ssrc, payload_type=PT_PCMA, payloads=[ALAW_TONE]))
        await quiet_state(sim, ALAW_ZONE)
    state = await sim.action(ALAW_ZONE, "state")
    assert [item["ssrc"] for item in state["announcements"]] == [11, 12, 13]
    assert state["packets_total"] == 8

    state = await sim.action(ALAW_ZONE, "reset")
    assert state["announcements"] == []
    assert (state["packets_total"], state["dropped"], state["malformed"]) == (0, 0, 0)
    # wait_quiet returns at once when nothing plays.
    assert (await sim.action(ALAW_ZONE, "wait_quiet"))["in_progress"] == 0

    for action, params, status in (
        ("wait_quiet", {"seconds": -1}, 400),
        ("wait_quiet", {"seconds": "soon"}, 400),
        ("wait_quiet", {"minutes": 1}, 400),
        ("block", {"now": True}, 400),
        ("play", {}, 404),
    ):
        with pytest.raises(SimulatorRequestError) as caught:
            await sim.action(ALAW_ZONE, action, params)
        assert caught.value.status == status, (action, params)


async def test_multicast_group(sim: SimulatorProcess) -> None:
    """A zone in a multicast group hears what is sent to the group on its port."""
    state = await sim.action(ULAW_ZONE, "state")
    if state["multicast_group"] is None:
        pytest.skip("this host cannot join a multicast group on loopback")
    assert state["multicast_group"] == GROUP
    assert sim.device(ULAW_ZONE)["multicast_group"] == GROUP
    await send_paced(state["port"], stream(10, 0x0C0C0C0C), group=GROUP)
    state = await quiet_state(sim, ULAW_ZONE)
    [played] = state["announcements"]
    assert (played["ssrc"], played["packets"]) == (0x0C0C0C0C, 10)


# --- in-process: decoders, parser, tracker, options ---------------------------------


def test_g711_tables() -> None:
    """The tables hold G.711's end points, are odd-symmetric and invert the encoders."""
    assert (ulaw_to_linear(0x00), ulaw_to_linear(0x80)) == (-32124, 32124)
    assert (ulaw_to_linear(0xFF), ulaw_to_linear(0x7F)) == (0, 0)
    assert (alaw_to_linear(0xAA), alaw_to_linear(0x2A)) == (32256, -32256)
    assert (alaw_to_linear(0xD5), alaw_to_linear(0x55)) == (8, -8)
    for code in range(128):
        assert PCMU.samples[code] == -PCMU.samples[code | 0x80]
        assert PCMA.samples[code] == -PCMA.samples[code | 0x80]
    assert len(set(PCMU.samples)) == 255  # ±0 share a value
    assert len(set(PCMA.samples)) == 256
    for sample in range(-32768, 32768, 7):
        for law, encode in ((PCMU, ulaw_encode), (PCMA, alaw_encode)):
            decoded = law.decode(bytes([encode(sample)]))[0]
            # Within half a quantisation step: about 1/32 of the value.
            assert abs(decoded - sample) <= abs(sample) / 32 + 16, (law, sample)
    assert list(PCMU.decode(b"\xff\x80")) == [0, 32124]


def test_rtp_parser() -> None:
    """Header fields, CSRCs, extension and padding; every malformation is refused."""
    packet = parse_rtp(rtp(65535, 123_456, 0xDEADBEEF, PT_PCMA, b"ab", marker=True))
    assert (packet.sequence, packet.timestamp, packet.ssrc) == (
        65535,
        123_456,
        0xDEADBEEF,
    )
    assert (packet.marker, packet.payload_type, packet.payload) == (True, 8, b"ab")
    full = parse_rtp(
        struct.pack("!BBHII", 0xB2, 0, 1, 2, 3)
        + struct.pack("!II", 4, 5)
        + struct.pack("!HHI", 0x1000, 1, 0)
        + b"xyz\x00\x02"
    )
    assert (full.csrcs, full.extension_profile, full.payload, full.padding) == (
        (4, 5),
        0x1000,
        b"xyz",
        2,
    )
    for bad in (
        b"",
        b"\x80\x00\x00",
        bytes([0x40]) + bytes(11),
        bytes([0x81]) + bytes(11),
        bytes([0x90]) + bytes(11) + b"\x00\x00",
        bytes([0x90]) + bytes(11) + b"\x00\x00\x00\x02\x00\x00\x00\x00",
        bytes([0xA0]) + bytes(11) + b"abc\x00",
        bytes([0xA0]) + bytes(11) + b"abc\x05",
    ):
        with pytest.raises(RtpError):
            parse_rtp(bad)
    assert is_rtcp(struct.pack("!BBHI", 0x81, 200, 6, 1))
    assert not is_rtcp(rtp(1, 1, 1, PT_PCMU, b""))


def test_tracker_wraparound_and_reordering() -> None:
    """Sequence and timestamp wraparound, late packets and gaps, on a fake clock."""
    tracker = AnnouncementTracker(
        "zone", expected_payload_type=PT_PCMU, gap_seconds=1.0, history=2
    )
    wall = datetime.now().astimezone()
    packets = stream(30, 42, sequence=65520, timestamp=(1 << 32) - 1600)
    # 65535 arrives last; 0 (the 17th) never does.
    order = [*range(15), *range(17, 30), 15]
    for tick, index in enumerate(order):
        tracker.receive(packets[index], "src", tick * FRAME_SECONDS, wall)
    assert tracker.in_progress == 1
    assert tracker.next_deadline() == pytest.approx(
        (len(order) - 1) * FRAME_SECONDS + 1
    )
    assert tracker.expire(10.0)
    [played] = tracker.announcements
    result = played.to_json()
    assert (result["packets"], result["sequence_gaps"]) == (29, 1)
    assert (result["out_of_order"], result["timestamp_errors"]) == (1, 0)
    assert result["duration_s"] == pytest.approx(0.6)
    assert result["max_gap_ms"] == pytest.approx(20)
    assert result["complete"] is True
    # A third announcement pushes the first out (history 2).
    for ssrc in (43, 44):
        tracker.receive(stream(1, ssrc)[0], "src", 20.0 + ssrc, wall)
    assert [item.ssrc for item in tracker.announcements] == [43, 44]
    tracker.reset()
    assert (tracker.announcements, tracker.packets_total) == ([], 0)


async def test_options() -> None:
    """Defaults, and bad options raised by start()."""
    document = scenario_document()
    document["devices"][1]["options"] = {}
    scenario = parse_scenario(document, name="zones", source=Path("zones.json"))
    zone = SpeakerZone(scenario.devices[1], scenario)
    assert zone.options.codec == "PCMU"
    assert (zone.options.gap_ms, zone.options.history) == (1000, 20)
    assert zone.options.multicast_group is None
    for options, match in (
        ({"codec": "G722"}, "codec"),
        ({"multicast_group": "10.0.0.1"}, "multicast_group"),
        ({"gap_ms": 10}, "gap_ms"),
        ({"volume": 3}, "unknown options"),
    ):
        document["devices"][1]["options"] = options
        bad = parse_scenario(document, name="bad", source=Path("bad.json"))
        zone = SpeakerZone(bad.devices[1], bad)
        with pytest.raises(ValueError, match=match):
            await zone.start(LOCALHOST)
        assert not zone.running
