"""Play an IP paging speaker zone that receives RTP G.711 (RFC 3550, RFC 3551).

The zone listens for RTP on a UDP port, as a paging speaker (or a group of
them behind one address) does, and optionally in an IPv4 multicast group on
the same port. It plays nothing; it listens like a careful engineer would:
packets are grouped into announcements (per SSRC, ended by ``gap_ms`` of
silence), and each announcement is measured: packets, audio duration from the
RTP timestamps, sequence gaps, reordering, duplicates, timestamp steps,
arrival jitter and the level of the decoded G.711 audio
(see ``simulator.devices.paging.listening``).

Options: ``codec`` ("PCMU" for payload type 0, "PCMA" for 8), ``speakers``
(informational), ``multicast_group``, ``gap_ms`` and ``history``.

Control actions: ``state``; ``reset`` forgets every announcement and counter;
``wait_quiet`` {seconds?} returns once no announcement is in progress (or
after ``seconds``, 5 by default); ``block`` drops every datagram, counted as
``dropped``, as an unreachable speaker would, until ``unblock``.
"""

import asyncio
import contextlib
from datetime import datetime
import ipaddress
import logging
import math
import socket
from typing import Any, Final, override

from simulator.devices.base import (
    ActionError,
    PortInfo,
    SimulatedDevice,
    UnknownActionError,
    register_kind,
)
from simulator.devices.paging.listening import AnnouncementTracker
from simulator.devices.paging.options import SpeakerZoneOptions
from simulator.jsonvalue import JSONObject
from simulator.kinds import DeviceKind
from simulator.scenario import DeviceSpec, Scenario

_LOGGER: Final = logging.getLogger(__name__)

_PROTOCOL: Final = "rtp-g711"
_DEFAULT_WAIT_SECONDS: Final = 5.0
_MAX_WAIT_SECONDS: Final = 60.0
_ANY_INTERFACE: Final = bytes(4)


class _ZoneProtocol(asyncio.DatagramProtocol):
    """Hand every datagram of one socket to the zone."""

    def __init__(self, zone: SpeakerZone) -> None:
        """Remember the zone to feed."""
        self._zone = zone

    @override
    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """Pass the datagram and its sender on."""
        self._zone.datagram_received(data, f"{addr[0]}:{addr[1]}")

    @override
    def error_received(self, exc: Exception) -> None:
        """Log a socket error; a listening zone has nobody to tell."""
        _LOGGER.debug("%s: socket error: %s", self._zone.id, exc)


@register_kind(DeviceKind.SPEAKER_ZONE)
class SpeakerZone(SimulatedDevice):
    """Listen for RTP G.711 announcements and measure each one."""

    def __init__(self, spec: DeviceSpec, scenario: Scenario) -> None:
        """Read the options; a bad option is raised by ``start``."""
        super().__init__(spec, scenario)
        self.options = self.read_options(
            lambda: SpeakerZoneOptions.from_spec(spec), SpeakerZoneOptions
        )
        self.law = self.options.law
        self._tracker = AnnouncementTracker(
            spec.id,
            expected_payload_type=self.law.payload_type,
            gap_seconds=self.options.gap_ms / 1000,
            history=self.options.history,
        )
        self._port = spec.port
        self._transport: asyncio.DatagramTransport | None = None
        self._multicast_transport: asyncio.DatagramTransport | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._quiet = asyncio.Event()
        self._quiet.set()
        self.blocked = False
        self.dropped = 0

    @property
    def multicast_group(self) -> str | None:
        """Return the multicast group joined, or None."""
        return (
            None if self._multicast_transport is None else self.options.multicast_group
        )

    # --- lifecycle -------------------------------------------------------------

    @override
    async def start(self, host: str) -> PortInfo:
        """Listen on the spec's port (0 = any free), and in the group if asked."""
        self.raise_option_error()
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _ZoneProtocol(self), local_addr=(host, self._port)
        )
        self._transport = transport
        self._port = int(transport.get_extra_info("sockname")[1])
        if self.options.multicast_group is not None:
            await self._join(self.options.multicast_group, host)
        extra: JSONObject = {
            "codec": str(self.law.codec),
            "payload_type": self.law.payload_type,
        }
        if (group := self.multicast_group) is not None:
            extra["multicast_group"] = group
        return PortInfo(host, self._port, _PROTOCOL, extra)

    async def _join(self, group: str, host: str) -> None:
        """Receive the group's datagrams on the zone's port; log if it cannot."""
        # The group's datagrams are addressed to the group, so they need a
        # socket bound to it; other zones may share the group and the port.
        interface = socket.inet_aton(host) if _is_unicast_ipv4(host) else _ANY_INTERFACE
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((group, self._port))
            sock.setsockopt(
                socket.IPPROTO_IP,
                socket.IP_ADD_MEMBERSHIP,
                socket.inet_aton(group) + interface,
            )
            sock.setblocking(False)
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _ZoneProtocol(self), sock=sock
            )
        except OSError as error:
            sock.close()
            _LOGGER.warning(
                "%s: cannot join multicast group %s on %s (%s); unicast only",
                self.id,
                group,
                host,
                error,
            )
            return
        self._multicast_transport = transport
        _LOGGER.info("%s: joined multicast group %s:%d", self.id, group, self._port)

    @override
    async def stop(self) -> None:
        """Close the sockets and the pending expiry."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        for transport in (self._transport, self._multicast_transport):
            if transport is not None:
                transport.close()
        self._transport = self._multicast_transport = None
        self._quiet.set()

    # --- listening ---------------------------------------------------------------

    def datagram_received(self, data: bytes, source: str) -> None:
        """Take one datagram, or drop it while blocked."""
        if self.blocked:
            self.dropped += 1
            return
        now = asyncio.get_running_loop().time()
        self._tracker.receive(data, source, now, datetime.now().astimezone())
        self._settle()

    def _expire(self) -> None:
        """End the announcements that have been silent for the gap."""
        self._expiry = None
        self._tracker.expire(asyncio.get_running_loop().time())
        self._settle()

    def _settle(self) -> None:
        """Schedule the next expiry and say whether the zone is quiet."""
        if self._tracker.in_progress:
            self._quiet.clear()
        else:
            self._quiet.set()
        deadline = self._tracker.next_deadline()
        # One timer, at the earliest end; new packets only move ends later.
        if deadline is not None and self._expiry is None:
            self._expiry = asyncio.get_running_loop().call_at(deadline, self._expire)

    # --- control API -------------------------------------------------------------

    @override
    def state(self) -> JSONObject:
        """Return the counters and the kept announcements, newest last."""
        if self._transport is not None:
            self._tracker.expire(asyncio.get_running_loop().time())
            self._settle()
        tracker = self._tracker
        return {
            "codec": str(self.law.codec),
            "payload_type": self.law.payload_type,
            "speakers": self.options.speakers,
            "listening": self._transport is not None and not self.blocked,
            "blocked": self.blocked,
            "port": self._port if self._transport is not None else None,
            "multicast_group": self.multicast_group,
            "gap_ms": self.options.gap_ms,
            "history": self.options.history,
            "packets_total": tracker.packets_total,
            "malformed": tracker.malformed,
            "rtcp": tracker.rtcp,
            "dropped": self.dropped,
            "in_progress": tracker.in_progress,
            "announcements": [item.to_json() for item in tracker.announcements],
        }

    @override
    async def handle_action(self, action: str, params: JSONObject) -> JSONObject:
        """Report, reset, wait for quiet, block or unblock the zone."""
        match action:
            case "state":
                _no_params(params)
            case "reset":
                _no_params(params)
                self._tracker.reset()
                self.dropped = 0
                self._settle()
                _LOGGER.info("%s: history reset", self.id)
            case "wait_quiet":
                await self._wait_quiet(params)
            case "block":
                _no_params(params)
                self.blocked = True
                _LOGGER.info("%s: blocked, dropping datagrams", self.id)
            case "unblock":
                _no_params(params)
                self.blocked = False
                _LOGGER.info("%s: unblocked", self.id)
            case _:
                raise UnknownActionError(self.id, action)
        return self.state()

    async def _wait_quiet(self, params: JSONObject) -> None:
        """Wait until no announcement is in progress, or for ``seconds``."""
        if set(params) - {"seconds"}:
            raise ActionError("wait_quiet takes one optional parameter: seconds")
        seconds = params.get("seconds", _DEFAULT_WAIT_SECONDS)
        if (
            not isinstance(seconds, int | float)
            or isinstance(seconds, bool)
            or not math.isfinite(seconds)
            or not 0 <= seconds <= _MAX_WAIT_SECONDS
        ):
            raise ActionError(
                f"seconds must be a number within 0..{_MAX_WAIT_SECONDS:g}, "
                f"not {seconds!r}"
            )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._quiet.wait()


def _no_params(params: JSONObject) -> None:
    """Refuse parameters for an action that takes none."""
    if unknown := sorted(key for key in params if not key.startswith("_")):
        raise ActionError(f"unknown parameters: {', '.join(unknown)}")


def _is_unicast_ipv4(host: str) -> bool:
    """Say whether ``host`` is one IPv4 address (not a name, not the wildcard)."""
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return not address.is_unspecified and not address.is_multicast
