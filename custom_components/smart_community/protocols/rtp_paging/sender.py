"""Send G.711 audio to paging zones over RTP, in real time, all zones at once.

A zone is one unicast or multicast address where speakers listen. Each zone of
a page gets its own UDP socket and its own RTP stream (its own SSRC, sequence
and timestamps), so that an error on one socket cannot touch the others; the
sockets are not connected, so an ICMP error cannot close one either.

One loop paces every zone: packet n of every zone leaves at t0 + n * 20 ms on
the event loop's clock, an absolute deadline, so sleeping late never adds up
to drift. When the loop falls behind, the packets that are due leave at once,
one tick at a time; none is skipped, and those more than two frames late are
counted. Speakers buffer a little, and a burst is heard as a short stall,
while a skipped packet is lost speech.

A zone's volume (``gain_db``) needs no decoding: each frame goes through a
256-byte table, G.711 code to G.711 code, once per distinct gain, so that an
all-call to 81 zones costs a few percent of one core.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
import errno
import ipaddress
import math
import socket
from typing import Any, Final, override

from .codec import FRAME_SAMPLES, FRAME_SECONDS, G711, gain_table
from .errors import ZoneUnreachableError
from .rtp import RtpPacketizer

DEFAULT_RESOLVE_TIMEOUT: Final = 5.0
# Packets more than this many frames behind their deadline count as late.
LATE_AFTER_FRAMES: Final = 2
# Errors on a zone's first packet that mean its address cannot be reached.
NETWORK_UNREACHABLE: Final = frozenset(
    {
        errno.ENETUNREACH,
        errno.EHOSTUNREACH,
        errno.ENETDOWN,
        errno.EHOSTDOWN,
        errno.EADDRNOTAVAIL,
    }
)

type SocketAddress = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class ZoneTarget:
    """Say where a zone listens and how loud it plays.

    ``ttl`` is the multicast time-to-live (hops), used only for multicast
    addresses; ``gain_db`` changes the volume of this zone alone.
    """

    name: str
    host: str
    port: int
    ttl: int = 16
    gain_db: float = 0.0

    def __post_init__(self) -> None:
        """Refuse values no socket would take."""
        if not self.name:
            raise ValueError("A zone needs a name")
        if not 0 < self.port < 1 << 16:
            raise ValueError(f"The port must be 1 to 65535, not {self.port}")
        if not 0 <= self.ttl <= 255:
            raise ValueError(f"The TTL must be 0 to 255, not {self.ttl}")
        if not math.isfinite(self.gain_db):
            raise ValueError(f"The gain must be a finite number, not {self.gain_db}")


@dataclass(frozen=True, slots=True)
class PlayReport:
    """Tell how a page went.

    ``packets`` counts, per zone, the packets its socket took (``frames`` is
    what each zone should get); ``errors`` counts the send errors per zone.
    ``unreachable`` gives the reason for each zone left out: an address that
    did not resolve, or a first packet that met a network-unreachable error.
    ``late_packets`` counts the ticks sent more than two frames (40 ms) after
    their deadline, each tick being one packet to every zone, and
    ``max_lateness_ms`` is the worst delay of a tick. ``duration_s`` runs from
    the first packet to the end of the last one's 20 ms.
    """

    packets: dict[str, int]
    duration_s: float
    late_packets: int
    max_lateness_ms: float
    errors: dict[str, int]
    frames: int = 0
    unreachable: dict[str, str] = field(default_factory=dict)


class _ZoneProtocol(asyncio.DatagramProtocol):
    """Count a zone socket's errors; what speakers send back is ignored."""

    def __init__(self) -> None:
        """Start with no errors."""
        self.errors = 0
        self.last_error: Exception | None = None

    @override
    def error_received(self, exc: Exception) -> None:
        """Count an error of sendto (or an ICMP error reported later)."""
        self.errors += 1
        self.last_error = exc


@dataclass(slots=True)
class _Link:
    """Hold one zone's socket, stream and audio during a page."""

    zone: ZoneTarget
    address: SocketAddress
    transport: asyncio.DatagramTransport
    protocol: _ZoneProtocol
    packetizer: RtpPacketizer
    gain: bytes | None
    attempts: int = 0


def _wake(waiter: asyncio.Future[None]) -> None:
    """Resolve a sleeper's future, unless it was cancelled meanwhile."""
    if not waiter.done():
        waiter.set_result(None)


async def _sleep_until(loop: asyncio.AbstractEventLoop, when: float) -> None:
    """Sleep until an absolute time on the loop's clock."""
    waiter: asyncio.Future[None] = loop.create_future()
    handle = loop.call_at(when, _wake, waiter)
    try:
        await waiter
    finally:
        handle.cancel()


def _is_multicast(address: SocketAddress) -> bool:
    """Tell whether a socket address is a multicast group."""
    host = str(address[0]).partition("%")[0]
    return ipaddress.ip_address(host).is_multicast


class PagingSender:
    """Send pages over RTP: one UDP socket and one RTP stream per zone.

    ``multicast_loop`` lets listeners on this host (a monitor, the simulator)
    hear multicast pages too; ``multicast_interface`` is the local IPv4
    address multicast leaves from, the routing table's choice when None.
    """

    def __init__(
        self,
        *,
        resolve_timeout: float = DEFAULT_RESOLVE_TIMEOUT,
        multicast_loop: bool = True,
        multicast_interface: str | None = None,
    ) -> None:
        """Set how zones are resolved and how multicast leaves."""
        self._resolve_timeout = resolve_timeout
        self._multicast_loop = multicast_loop
        self._multicast_interface: bytes | None = None
        if multicast_interface is not None:
            try:
                interface = ipaddress.IPv4Address(multicast_interface)
            except ValueError as err:
                raise ValueError(
                    "The multicast interface must be a local IPv4 address,"
                    f" not {multicast_interface!r}"
                ) from err
            self._multicast_interface = interface.packed

    async def _resolve(self, zone: ZoneTarget) -> tuple[int, SocketAddress] | str:
        """Return a zone's family and socket address, or why it has none."""
        try:
            literal = ipaddress.ip_address(zone.host)
        except ValueError:
            literal = None
        if isinstance(literal, ipaddress.IPv4Address):
            return socket.AF_INET, (zone.host, zone.port)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._resolve_timeout):
                infos = await loop.getaddrinfo(
                    zone.host, zone.port, type=socket.SOCK_DGRAM
                )
        except TimeoutError:
            return f"{zone.host} did not resolve within {self._resolve_timeout} s"
        except OSError as err:
            return f"{zone.host} does not resolve: {err}"
        family, _, _, _, address = infos[0]
        return family, address

    def _new_socket(
        self, family: int, address: SocketAddress, ttl: int
    ) -> socket.socket:
        """Create a zone's UDP socket, with the multicast options it needs."""
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if _is_multicast(address):
                loop_flag = int(self._multicast_loop)
                if family == socket.AF_INET6:
                    sock.setsockopt(
                        socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl
                    )
                    sock.setsockopt(
                        socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, loop_flag
                    )
                else:
                    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
                    sock.setsockopt(
                        socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, loop_flag
                    )
                    if self._multicast_interface is not None:
                        sock.setsockopt(
                            socket.IPPROTO_IP,
                            socket.IP_MULTICAST_IF,
                            self._multicast_interface,
                        )
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    async def _open(
        self,
        zone: ZoneTarget,
        family: int,
        address: SocketAddress,
        codec: G711,
    ) -> _Link:
        """Open a zone's socket and transport."""
        loop = asyncio.get_running_loop()
        # From here on the transport owns the socket, and closes it on failure.
        transport, protocol = await loop.create_datagram_endpoint(
            _ZoneProtocol, sock=self._new_socket(family, address, zone.ttl)
        )
        gain = gain_table(codec, zone.gain_db) if zone.gain_db else None
        return _Link(zone, address, transport, protocol, RtpPacketizer(codec), gain)

    async def play(
        self,
        audio: bytes,
        zones: Sequence[ZoneTarget],
        codec: G711,
        *,
        started: Callable[[], None] | None = None,
    ) -> PlayReport:
        """Send G.711 audio to every zone at once, in real time.

        ``started`` is called as soon as the first packets are out. Zones that
        cannot be reached are reported, unless no zone can be reached:
        ZoneUnreachableError. Cancelling stops the sending at once.
        """
        if not audio:
            raise ValueError("There is no audio to play")
        if not zones:
            raise ValueError("A page needs at least one zone")
        if len({zone.name for zone in zones}) != len(zones):
            raise ValueError("Zone names must be unique within a page")
        unreachable: dict[str, str] = {}
        links: list[_Link] = []
        completed = False
        try:
            resolved = await asyncio.gather(*(self._resolve(zone) for zone in zones))
            for zone, result in zip(zones, resolved, strict=True):
                if isinstance(result, str):
                    unreachable[zone.name] = result
                    continue
                try:
                    link = await self._open(zone, *result, codec=codec)
                except OSError as err:
                    unreachable[zone.name] = f"No socket for {zone.host}: {err}"
                    continue
                links.append(link)
            if not links:
                raise _all_unreachable(zones, unreachable)
            report = await self._stream(audio, links, zones, unreachable, started)
            completed = True
            return report
        finally:
            for link in links:
                if completed:
                    link.transport.close()
                else:
                    link.transport.abort()

    async def _stream(
        self,
        audio: bytes,
        links: list[_Link],
        zones: Sequence[ZoneTarget],
        unreachable: dict[str, str],
        started: Callable[[], None] | None,
    ) -> PlayReport:
        """Pace the packets of every zone against absolute deadlines."""
        loop = asyncio.get_running_loop()
        frames = -(-len(audio) // FRAME_SAMPLES)
        late_after = LATE_AFTER_FRAMES * FRAME_SECONDS
        late_ticks = 0
        max_lateness = 0.0
        groups = _by_gain(links)
        start_time = loop.time()
        for index in range(frames):
            deadline = start_time + index * FRAME_SECONDS
            if index:
                if loop.time() < deadline:
                    await _sleep_until(loop, deadline)
                else:
                    # Behind: send at once, but let the loop breathe.
                    await asyncio.sleep(0)
            lateness = loop.time() - deadline
            max_lateness = max(max_lateness, lateness)
            if lateness > late_after:
                late_ticks += 1
            start = index * FRAME_SAMPLES
            frame = audio[start : start + FRAME_SAMPLES]
            marker = index == 0
            for gain, group in groups:
                payload = frame if gain is None else frame.translate(gain)
                for link in group:
                    link.transport.sendto(
                        link.packetizer.packet(payload, marker=marker), link.address
                    )
                    link.attempts += 1
            if marker:
                active = _reachable(links, unreachable)
                if not active:
                    raise _all_unreachable(zones, unreachable)
                groups = _by_gain(active)
                if started is not None:
                    started()
        end = start_time + frames * FRAME_SECONDS
        if loop.time() < end:
            await _sleep_until(loop, end)
        by_name = {link.zone.name: link for link in links}
        return PlayReport(
            packets={
                zone.name: max(
                    by_name[zone.name].attempts - by_name[zone.name].protocol.errors, 0
                )
                if zone.name in by_name
                else 0
                for zone in zones
            },
            duration_s=loop.time() - start_time,
            late_packets=late_ticks,
            max_lateness_ms=max_lateness * 1000,
            errors={
                zone.name: by_name[zone.name].protocol.errors
                if zone.name in by_name
                else 0
                for zone in zones
            },
            frames=frames,
            unreachable=unreachable,
        )


def _by_gain(links: list[_Link]) -> list[tuple[bytes | None, list[_Link]]]:
    """Group zones by gain, so that each frame is translated once per gain."""
    groups: dict[bytes | None, list[_Link]] = {}
    for link in links:
        groups.setdefault(link.gain, []).append(link)
    return list(groups.items())


def _reachable(links: list[_Link], unreachable: dict[str, str]) -> list[_Link]:
    """Drop the zones whose first packet met a network-unreachable error."""
    active = []
    for link in links:
        error = link.protocol.last_error
        if isinstance(error, OSError) and error.errno in NETWORK_UNREACHABLE:
            unreachable[link.zone.name] = f"{link.zone.host} is unreachable: {error}"
        else:
            active.append(link)
    return active


def _all_unreachable(
    zones: Sequence[ZoneTarget], unreachable: dict[str, str]
) -> ZoneUnreachableError:
    """Build the error for a page no zone of which can be reached."""
    reasons = "; ".join(f"{name}: {reason}" for name, reason in unreachable.items())
    return ZoneUnreachableError(zones[0].name, f"No zone can be reached ({reasons})")
