"""Test the paging sender against RTP receivers on 127.0.0.1."""

import asyncio
from collections.abc import AsyncIterator
import contextlib
import errno
import math
import socket
import time
from typing import Any

import pytest

from custom_components.smart_community.protocols.rtp_paging import (
    FRAME_SAMPLES,
    G711,
    PagingSender,
    ZoneTarget,
    ZoneUnreachableError,
    apply_gain,
    encode_samples,
    sender as sender_module,
)

from .rtp_paging_support import ReceiverPool, RecordingSocket, RtpReceiver, sine

AUDIO = encode_samples(sine(440, 0.245, 8000, amplitude=0.3), G711.PCMU)  # 12.25 frames
FRAMES = math.ceil(len(AUDIO) / FRAME_SAMPLES)


@pytest.fixture
async def receivers(socket_enabled: None) -> AsyncIterator[ReceiverPool]:
    """Open speakers on 127.0.0.1 for the test."""
    pool = ReceiverPool()
    yield pool
    await pool.close()


@pytest.fixture
def sockets(
    socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> type[RecordingSocket]:
    """Record the sockets made, and let the test make sends fail."""
    monkeypatch.setattr(RecordingSocket, "made", [])
    monkeypatch.setattr(RecordingSocket, "fail", {})
    monkeypatch.setattr(RecordingSocket, "refuse_family", None)
    monkeypatch.setattr(socket, "socket", RecordingSocket)
    return RecordingSocket


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, str | float]:
    """Resolve *.test and *.invalid names: an address, a delay, or no such name."""
    table: dict[str, str | float] = {}
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith((".test", ".invalid")):
            answer = table.get(host)
            if isinstance(answer, float):
                time.sleep(answer)
                answer = "127.0.0.1"
            if answer is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [(socket.AF_INET, socket.SOCK_DGRAM, 17, "", (answer, port))]
        return original(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def zone(name: str, receiver: RtpReceiver, **kwargs: Any) -> ZoneTarget:
    """Point a zone at a receiver."""
    return ZoneTarget(name, "127.0.0.1", receiver.port, **kwargs)


def check_stream(receiver: RtpReceiver, payload_type: int = 0) -> int:
    """Check one well-formed RTP stream at a receiver; return its SSRC."""
    (ssrc,) = receiver.ssrcs()
    headers = [arrival.header for arrival in receiver.arrivals]
    first = headers[0]
    assert all(h.version == 2 and h.payload_type == payload_type for h in headers)
    assert [h.marker for h in headers] == [True] + [False] * (len(headers) - 1)
    assert [h.sequence for h in headers] == [
        (first.sequence + n) % 65536 for n in range(len(headers))
    ]
    assert [h.timestamp for h in headers] == [
        (first.timestamp + 160 * n) % 2**32 for n in range(len(headers))
    ]
    assert all(len(arrival.payload) == 160 for arrival in receiver.arrivals)
    return ssrc


def padded(audio: bytes, codec: G711) -> bytes:
    """Pad audio to whole frames with silence."""
    return audio + bytes([codec.silence]) * (-len(audio) % FRAME_SAMPLES)


async def test_two_zones_get_every_packet(receivers: ReceiverPool) -> None:
    """Send every frame to both zones, each its own stream, with its own gain."""
    plain, louder = await receivers.open(), await receivers.open()
    calls: list[int] = []
    report = await PagingSender().play(
        AUDIO,
        [zone("hall", plain), zone("garden", louder, gain_db=6.0)],
        G711.PCMU,
        started=lambda: calls.append(len(calls)),
    )
    await plain.wait_for(FRAMES)
    await louder.wait_for(FRAMES)
    assert calls == [0]
    assert check_stream(plain) != check_stream(louder)
    assert b"".join(a.payload for a in plain.arrivals) == padded(AUDIO, G711.PCMU)
    assert b"".join(a.payload for a in louder.arrivals) == padded(
        apply_gain(AUDIO, G711.PCMU, 6.0), G711.PCMU
    )
    assert report.packets == {"hall": FRAMES, "garden": FRAMES}
    assert report.errors == {"hall": 0, "garden": 0}
    assert report.frames == FRAMES
    assert report.unreachable == {}
    assert report.duration_s >= FRAMES * 0.02 - 1e-6
    assert report.max_lateness_ms >= 0
    assert report.late_packets >= 0


async def test_pcma_payload_type(receivers: ReceiverPool) -> None:
    """Send A-law as payload type 8."""
    speaker = await receivers.open()
    audio = encode_samples(sine(440, 0.05, 8000), G711.PCMA)
    await PagingSender().play(audio, [zone("hall", speaker)], G711.PCMA)
    await speaker.wait_for(3)
    check_stream(speaker, payload_type=8)


async def test_a_stalled_loop_catches_up_without_skipping(
    receivers: ReceiverPool,
) -> None:
    """Send the overdue packets at once when the loop was blocked, and count them."""
    speaker = await receivers.open()
    report = await PagingSender().play(
        AUDIO[: 4 * FRAME_SAMPLES],
        [zone("hall", speaker)],
        G711.PCMU,
        started=lambda: time.sleep(0.12),  # blocks the event loop on purpose
    )
    await speaker.wait_for(4)
    check_stream(speaker)
    # Ticks 1-3 were due 20, 40 and 60 ms after the start and left after 120 ms.
    assert report.late_packets == 3
    assert report.max_lateness_ms >= 100
    assert report.packets == {"hall": 4}


async def test_unresolved_zone_does_not_hold_back_the_others(
    receivers: ReceiverPool, names: dict[str, str | float]
) -> None:
    """Report a zone whose name does not resolve and play the rest."""
    speaker = await receivers.open()
    report = await PagingSender().play(
        AUDIO,
        [zone("hall", speaker), ZoneTarget("lost", "unreachable.invalid", 5004)],
        G711.PCMU,
    )
    await speaker.wait_for(FRAMES)
    check_stream(speaker)
    assert report.packets == {"hall": FRAMES, "lost": 0}
    assert report.errors == {"hall": 0, "lost": 0}
    assert "unreachable.invalid does not resolve" in report.unreachable["lost"]


async def test_all_zones_unresolved(
    sockets: type[RecordingSocket], names: dict[str, str | float]
) -> None:
    """Raise ZoneUnreachableError when no zone resolves, before any socket."""
    started: list[bool] = []
    with pytest.raises(ZoneUnreachableError, match="No zone can be reached") as caught:
        await PagingSender().play(
            AUDIO,
            [
                ZoneTarget("north", "north.invalid", 5004),
                ZoneTarget("south", "south.invalid", 5004),
            ],
            G711.PCMU,
            started=lambda: started.append(True),
        )
    assert caught.value.zone == "north"
    assert "south: south.invalid does not resolve" in str(caught.value)
    assert not started
    assert sockets.made == []


async def test_names_resolve(
    receivers: ReceiverPool, names: dict[str, str | float]
) -> None:
    """Resolve a host name, and give up on one that resolves too slowly."""
    speaker = await receivers.open()
    names["speaker.test"] = "127.0.0.1"
    names["slow.test"] = 0.3
    report = await PagingSender(resolve_timeout=0.05).play(
        AUDIO,
        [
            ZoneTarget("hall", "speaker.test", speaker.port),
            ZoneTarget("slow", "slow.test", speaker.port),
        ],
        G711.PCMU,
    )
    await speaker.wait_for(FRAMES)
    check_stream(speaker)
    assert report.unreachable == {"slow": "slow.test did not resolve within 0.05 s"}


async def test_network_unreachable_zone_is_dropped(
    receivers: ReceiverPool, sockets: type[RecordingSocket]
) -> None:
    """Stop sending to a zone whose first packet finds no route."""
    speaker = await receivers.open()
    sockets.fail[9] = (errno.ENETUNREACH, None)
    report = await PagingSender().play(
        AUDIO,
        [zone("hall", speaker), ZoneTarget("far", "127.0.0.1", 9)],
        G711.PCMU,
    )
    await speaker.wait_for(FRAMES)
    assert report.packets == {"hall": FRAMES, "far": 0}
    assert report.errors == {"hall": 0, "far": 1}
    assert "127.0.0.1 is unreachable" in report.unreachable["far"]


async def test_all_zones_network_unreachable(
    receivers: ReceiverPool, sockets: type[RecordingSocket]
) -> None:
    """Raise ZoneUnreachableError when every first packet finds no route."""
    sockets.fail[9] = (errno.EHOSTUNREACH, None)
    sockets.fail[10] = (errno.ENETUNREACH, None)
    started: list[bool] = []
    with pytest.raises(ZoneUnreachableError) as caught:
        await PagingSender().play(
            AUDIO,
            [ZoneTarget("a", "127.0.0.1", 9), ZoneTarget("b", "127.0.0.1", 10)],
            G711.PCMU,
            started=lambda: started.append(True),
        )
    assert caught.value.zone == "a"
    assert not started
    await asyncio.sleep(0)
    assert all(sock.fileno() == -1 for sock in sockets.made)


async def test_send_errors_are_counted_per_zone(
    receivers: ReceiverPool, sockets: type[RecordingSocket]
) -> None:
    """Count a zone's failed sends and keep sending to it and to the others."""
    good, flaky = await receivers.open(), await receivers.open()
    sockets.fail[flaky.port] = (errno.ENOBUFS, 3)
    report = await PagingSender().play(
        AUDIO, [zone("good", good), zone("flaky", flaky)], G711.PCMU
    )
    await good.wait_for(FRAMES)
    await flaky.wait_for(FRAMES - 3)
    assert report.packets == {"good": FRAMES, "flaky": FRAMES - 3}
    assert report.errors == {"good": 0, "flaky": 3}
    assert report.unreachable == {}
    sequences = [a.header.sequence for a in flaky.arrivals]
    assert sequences == [(sequences[0] + n) % 65536 for n in range(len(sequences))]
    assert not any(a.header.marker for a in flaky.arrivals)  # the first was lost


async def test_cancel_stops_at_once_and_closes_sockets(
    receivers: ReceiverPool, sockets: type[RecordingSocket]
) -> None:
    """Stop sending when cancelled, and close every zone socket."""
    first, second = await receivers.open(), await receivers.open()
    before = len(sockets.made)
    long_audio = encode_samples(sine(440, 3.0, 8000), G711.PCMU)
    task = asyncio.create_task(
        PagingSender().play(
            long_audio, [zone("a", first), zone("b", second)], G711.PCMU
        )
    )
    await first.wait_for(5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    heard = len(first.arrivals), len(second.arrivals)
    await asyncio.sleep(0.2)
    assert (len(first.arrivals), len(second.arrivals)) == heard
    assert heard[0] < 150
    zone_sockets = sockets.made[before:]
    assert len(zone_sockets) == 2
    assert all(sock.fileno() == -1 for sock in zone_sockets)


async def test_multicast_socket_options(
    receivers: ReceiverPool, sockets: type[RecordingSocket]
) -> None:
    """Set TTL (hops), loopback and the interface on multicast zones only.

    TTL 0 and interface-local scope keep the test's packets on this host.
    """
    speaker = await receivers.open()
    before = len(sockets.made)
    seen: dict[str, tuple[int, ...] | bytes] = {}

    def inspect() -> None:
        for sock in sockets.made[before:]:
            if sock.family == socket.AF_INET6:
                seen["v6"] = (
                    sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS),
                    sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP),
                )
                continue
            options = (
                sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL),
                sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP),
            )
            key = "unicast" if options == (1, 1) else "v4"
            seen[key] = options
            if key == "v4":
                seen["interface"] = sock.getsockopt(
                    socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4
                )

    zones = [
        zone("hall", speaker),
        ZoneTarget("group", "239.255.0.1", 50000, ttl=0),
        ZoneTarget("group6", "ff01::1", 50000, ttl=3),
    ]
    report = await PagingSender(
        multicast_loop=False, multicast_interface="127.0.0.1"
    ).play(AUDIO, zones, G711.PCMU, started=inspect)
    await speaker.wait_for(FRAMES)
    assert seen["unicast"] == (1, 1)
    assert seen["v4"] == (0, 0)
    assert seen["interface"] == socket.inet_aton("127.0.0.1")
    if "group6" not in report.unreachable:  # a host without IPv6 cannot open one
        assert seen["v6"] == (3, 0)
    # Sending may fail where no route takes multicast; that is reported.
    for name in ("group", "group6"):
        assert report.packets[name] == FRAMES or name in report.unreachable


async def test_multicast_defaults(sockets: type[RecordingSocket]) -> None:
    """Loop multicast back to this host by default, on the routing table's interface."""
    seen: list[tuple[int, int]] = []

    def inspect() -> None:
        seen.extend(
            (
                sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL),
                sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP),
            )
            for sock in sockets.made
        )

    with contextlib.suppress(ZoneUnreachableError):  # no multicast route here
        await PagingSender().play(
            AUDIO[:FRAME_SAMPLES],
            [ZoneTarget("group", "239.255.0.1", 50000, ttl=0)],
            G711.PCMU,
            started=inspect,
        )
    assert seen in ([(0, 1)], [])
    assert len(sockets.made) == 1
    options = sockets.made[0]
    if not seen:  # the socket is closed: nothing left to inspect
        assert options.fileno() == -1


def test_wake_leaves_a_cancelled_sleep_alone() -> None:
    """Do not resolve a sleep that was cancelled as its time came."""
    loop = asyncio.new_event_loop()
    try:
        waiter: asyncio.Future[None] = loop.create_future()
        waiter.cancel()
        sender_module._wake(waiter)
        assert waiter.cancelled()
    finally:
        loop.close()


async def test_zone_without_a_socket(
    receivers: ReceiverPool, sockets: type[RecordingSocket]
) -> None:
    """Report a zone whose socket cannot be made or set up, and play the rest."""
    speaker = await receivers.open()
    sockets.refuse_family = socket.AF_INET6
    report = await PagingSender(multicast_interface="192.0.2.123").play(
        AUDIO,
        [
            zone("hall", speaker),
            ZoneTarget("v6", "::1", 5004),
            ZoneTarget("group", "239.255.0.1", 5004),
        ],
        G711.PCMU,
    )
    await speaker.wait_for(FRAMES)
    assert report.unreachable["v6"].startswith("No socket for ::1:")
    assert report.unreachable["group"].startswith("No socket for 239.255.0.1:")
    assert report.packets == {"hall": FRAMES, "v6": 0, "group": 0}
    await asyncio.sleep(0)
    assert len(sockets.made) == 3  # the speaker's, the hall's, the group's
    assert all(sock.fileno() == -1 for sock in sockets.made[1:])


async def test_play_checks_its_arguments() -> None:
    """Refuse no audio, no zones and duplicate zone names."""
    sender = PagingSender()
    target = ZoneTarget("hall", "127.0.0.1", 5004)
    with pytest.raises(ValueError, match="no audio"):
        await sender.play(b"", [target], G711.PCMU)
    with pytest.raises(ValueError, match="at least one zone"):
        await sender.play(AUDIO, [], G711.PCMU)
    with pytest.raises(ValueError, match="unique"):
        await sender.play(AUDIO, [target, target], G711.PCMU)
    with pytest.raises(ValueError, match="must be a local IPv4 address"):
        PagingSender(multicast_interface="eth0")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "needs a name"),
        ({"port": 0}, "port must be"),
        ({"port": 65536}, "port must be"),
        ({"ttl": 256}, "TTL must be"),
        ({"ttl": -1}, "TTL must be"),
        ({"gain_db": math.inf}, "gain must be"),
    ],
)
def test_zone_target_is_checked(kwargs: dict[str, Any], message: str) -> None:
    """Refuse zone settings no socket would take."""
    fields: dict[str, Any] = {"name": "hall", "host": "127.0.0.1", "port": 5004}
    with pytest.raises(ValueError, match=message):
        ZoneTarget(**(fields | kwargs))


def test_zone_target_defaults() -> None:
    """Default to TTL 16 and no gain."""
    target = ZoneTarget("hall", "239.255.0.1", 5004)
    assert (target.ttl, target.gain_db) == (16, 0.0)
