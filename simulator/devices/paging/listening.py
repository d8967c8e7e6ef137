"""Group received RTP packets into announcements and measure each one.

An announcement is what one sender (one SSRC) plays between two silences: it
starts with the first packet of an SSRC that has none in progress, and it ends
once no packet of that SSRC has arrived for ``gap_seconds``; the next packet
then starts a new one. Several senders at once are tracked side by side.

Each announcement is measured twice over: the stream as the sender stamped it
(sequence numbers and timestamps, both unwrapped across their wraparound) and
as the zone received it (arrival times, sizes, the decoded audio's level).
The tracker is plain code driven with arrival times; the device feeds it
datagrams and the loop's clock.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
import itertools
import logging
import math
import statistics
from typing import Final

from simulator.devices.paging.g711 import LAWS_BY_PAYLOAD_TYPE, SAMPLE_RATE
from simulator.devices.paging.rtp import RtpError, RtpPacket, is_rtcp, parse_rtp
from simulator.jsonvalue import JSONObject, JSONValue

_LOGGER: Final = logging.getLogger(__name__)

# RFC 3551: G.711 is sent in 20 ms frames of 160 samples, one byte each.
FRAME_SAMPLES: Final = 160
FRAME_SECONDS: Final = FRAME_SAMPLES / SAMPLE_RATE
FULL_SCALE: Final = 32768
SILENCE_DBFS: Final = -60.0
# Level reported for digital silence, where the logarithm has no value.
DBFS_FLOOR: Final = -120.0
_SILENT_MEAN_SQUARE: Final = (FULL_SCALE * 10 ** (SILENCE_DBFS / 20)) ** 2
_SEQUENCE_MODULO: Final = 1 << 16
_TIMESTAMP_MODULO: Final = 1 << 32
_P99: Final = 0.99


def _signed(delta: int, modulo: int) -> int:
    """Return ``delta`` modulo ``modulo`` as the nearest signed step."""
    delta %= modulo
    return delta - modulo if delta >= modulo // 2 else delta


def _dbfs(mean_square: float) -> float:
    """Return a mean square of 16-bit samples in dB relative to full scale."""
    if mean_square <= 0:
        return DBFS_FLOOR
    return max(10 * math.log10(mean_square / FULL_SCALE**2), DBFS_FLOOR)


@dataclass(frozen=True, slots=True)
class _Frame:
    """Remember where one received packet sits on the sender's timeline."""

    # Unwrapped, relative to the announcement's first packet.
    timestamp: int
    samples: int


class Announcement:
    """Collect one sender's packets between two silences and measure them."""

    def __init__(
        self,
        packet: RtpPacket,
        *,
        source: str,
        expected_payload_type: int,
        arrival: float,
        wall: datetime,
    ) -> None:
        """Start an announcement with its first packet."""
        self.ssrc = packet.ssrc
        self.source = source
        self.expected_payload_type = expected_payload_type
        self.payload_type = packet.payload_type
        self.payload_types: set[int] = set()
        self.marker_first = packet.marker
        self.first_arrival = self.last_arrival = arrival
        self.started_at = self.last_packet_at = wall
        self.complete = False
        self.packets = 0
        self.bytes = 0
        self.malformed = 0
        self.duplicates = 0
        self.out_of_order = 0
        self.timestamp_errors = 0
        self.payload_sizes: set[int] = set()
        self._first_timestamp = packet.timestamp
        # Extended (unwrapped) sequence numbers, starting at the first packet's.
        self._lowest = self._highest = packet.sequence
        self._frames: dict[int, _Frame] = {}
        self._previous: tuple[int, int] | None = None
        self._earliest = self._latest = 0
        self._latest_samples = 0
        self._intervals: list[float] = []
        self._sum_squares = 0
        self._samples = 0
        self._peak = 0
        self._level_frames = 0
        self._silent_frames = 0
        self._max_gap_ms: float | None = None
        self.add(packet, arrival, wall)

    def add(self, packet: RtpPacket, arrival: float, wall: datetime) -> None:
        """Count one more packet of this sender."""
        if self.packets:
            self._intervals.append((arrival - self.last_arrival) * 1000)
        self.packets += 1
        self.bytes += len(packet.payload)
        self.payload_sizes.add(len(packet.payload))
        self.payload_types.add(packet.payload_type)
        self.last_arrival = arrival
        self.last_packet_at = wall
        sequence = self._highest + _signed(
            packet.sequence - self._highest, _SEQUENCE_MODULO
        )
        if sequence in self._frames:
            self.duplicates += 1
            return
        if sequence < self._highest:
            self.out_of_order += 1
        self._highest = max(self._highest, sequence)
        self._lowest = min(self._lowest, sequence)
        timestamp = _signed(packet.timestamp - self._first_timestamp, _TIMESTAMP_MODULO)
        samples = len(packet.payload)
        self._frames[sequence] = _Frame(timestamp, samples)
        if self._previous is not None:
            previous_sequence, previous_timestamp = self._previous
            if timestamp - previous_timestamp != FRAME_SAMPLES * (
                sequence - previous_sequence
            ):
                self.timestamp_errors += 1
        self._previous = (sequence, timestamp)
        self._earliest = min(self._earliest, timestamp)
        if timestamp >= self._latest:
            self._latest, self._latest_samples = timestamp, samples
        self._measure(packet)

    def _measure(self, packet: RtpPacket) -> None:
        """Add the packet's decoded audio to the level, frame by frame."""
        # Decoded as its own payload type says: what a zone that knew the
        # codec would play. Other payload types carry no G.711 to measure.
        if (law := LAWS_BY_PAYLOAD_TYPE.get(packet.payload_type)) is None:
            return
        payload = packet.payload
        for start in range(0, len(payload), FRAME_SAMPLES):
            frame = payload[start : start + FRAME_SAMPLES]
            squares = sum(map(law.squares.__getitem__, frame))
            self._sum_squares += squares
            self._samples += len(frame)
            self._peak = max(self._peak, max(map(law.magnitudes.__getitem__, frame)))
            self._level_frames += 1
            if squares < _SILENT_MEAN_SQUARE * len(frame):
                self._silent_frames += 1

    def finish(self) -> None:
        """Mark the announcement ended and keep its results."""
        self._max_gap_ms = self._longest_hole_ms()
        self.complete = True

    @property
    def sequence_gaps(self) -> int:
        """Count the sequence numbers missing between the lowest and highest."""
        return self._highest - self._lowest + 1 - len(self._frames)

    @property
    def duration_s(self) -> float:
        """Return the audio's length from the RTP timestamps."""
        return (self._latest - self._earliest + self._latest_samples) / SAMPLE_RATE

    @property
    def wall_s(self) -> float:
        """Return how long the packets took to arrive, the last one's 20 ms included."""
        return self.last_arrival - self.first_arrival + FRAME_SECONDS

    @property
    def codec_ok(self) -> bool:
        """Say whether every packet had the payload type the zone expects."""
        return self.payload_types == {self.expected_payload_type}

    def _longest_hole_ms(self) -> float:
        """Return the longest stretch of audio the timestamps say is missing."""
        if self._max_gap_ms is not None:
            return self._max_gap_ms
        frames = [self._frames[sequence] for sequence in sorted(self._frames)]
        holes = (
            later.timestamp - earlier.timestamp - earlier.samples
            for earlier, later in itertools.pairwise(frames)
        )
        return max(0, max(holes, default=0)) * 1000 / SAMPLE_RATE

    def _interval_stats(self) -> JSONObject:
        """Return the inter-arrival times' mean, deviation, 99th percentile and max."""
        intervals = self._intervals
        if not intervals:
            return {"mean": None, "stdev": None, "p99": None, "max": None}
        ranked = sorted(intervals)
        p99 = ranked[max(math.ceil(_P99 * len(ranked)) - 1, 0)]
        return {
            "mean": round(statistics.fmean(intervals), 2),
            "stdev": round(statistics.pstdev(intervals), 2),
            "p99": round(p99, 2),
            "max": round(ranked[-1], 2),
        }

    def to_json(self) -> JSONObject:
        """Return the announcement's measurements, rounded for people."""
        law = LAWS_BY_PAYLOAD_TYPE.get(self.payload_type)
        measured = self._samples > 0
        payload_sizes: list[JSONValue] = [*sorted(self.payload_sizes)]
        return {
            "ssrc": self.ssrc,
            "source": self.source,
            "payload_type": self.payload_type,
            "codec": None if law is None else str(law.codec),
            "codec_ok": self.codec_ok,
            "packets": self.packets,
            "bytes": self.bytes,
            "duration_s": round(self.duration_s, 3),
            "wall_s": round(self.wall_s, 3),
            "sequence_gaps": self.sequence_gaps,
            "out_of_order": self.out_of_order,
            "duplicates": self.duplicates,
            "timestamp_errors": self.timestamp_errors,
            "marker_first": self.marker_first,
            "payload_sizes": payload_sizes,
            "interval_ms": self._interval_stats(),
            "max_gap_ms": round(self._longest_hole_ms(), 1),
            "level_dbfs": (
                round(_dbfs(self._sum_squares / self._samples), 2) if measured else None
            ),
            "peak_dbfs": round(_dbfs(self._peak**2), 2) if measured else None,
            "silent_fraction": (
                round(self._silent_frames / self._level_frames, 3) if measured else None
            ),
            "started_at": self.started_at.isoformat(timespec="milliseconds"),
            "ended_at": (
                self.last_packet_at.isoformat(timespec="milliseconds")
                if self.complete
                else None
            ),
            "complete": self.complete,
            "malformed": self.malformed,
        }


class AnnouncementTracker:
    """Sort a zone's datagrams into announcements and keep the latest ones."""

    def __init__(
        self,
        name: str,
        *,
        expected_payload_type: int,
        gap_seconds: float,
        history: int,
    ) -> None:
        """Track announcements for the zone ``name``."""
        self.name = name
        self.expected_payload_type = expected_payload_type
        self.gap_seconds = gap_seconds
        self.history = history
        self.packets_total = 0
        self.malformed = 0
        self.rtcp = 0
        self._active: dict[int, Announcement] = {}
        # The announcement each source sent last, to charge its bad datagrams to.
        self._by_source: dict[str, Announcement] = {}
        self._announcements: list[Announcement] = []

    @property
    def in_progress(self) -> int:
        """Count the announcements still playing."""
        return len(self._active)

    @property
    def announcements(self) -> list[Announcement]:
        """Return the kept announcements, oldest first."""
        return list(self._announcements)

    def receive(
        self, datagram: bytes, source: str, arrival: float, wall: datetime
    ) -> Announcement | None:
        """Take one datagram; return the announcement it starts, if it starts one."""
        self.expire(arrival)
        if is_rtcp(datagram):
            self.rtcp += 1
            return None
        try:
            packet = parse_rtp(datagram)
        except RtpError as error:
            self.malformed += 1
            current = self._by_source.get(source)
            if current is not None and not current.complete:
                current.malformed += 1
            _LOGGER.debug("%s: not RTP from %s: %s", self.name, source, error)
            return None
        self.packets_total += 1
        current = self._active.get(packet.ssrc)
        if current is not None:
            current.add(packet, arrival, wall)
            self._by_source[source] = current
            return None
        current = Announcement(
            packet,
            source=source,
            expected_payload_type=self.expected_payload_type,
            arrival=arrival,
            wall=wall,
        )
        self._active[packet.ssrc] = current
        self._by_source[source] = current
        self._announcements.append(current)
        self._trim()
        _LOGGER.info(
            "%s: announcement from %s started (SSRC %08x, PT %d)",
            self.name,
            source,
            packet.ssrc,
            packet.payload_type,
        )
        return current

    def expire(self, now: float) -> list[Announcement]:
        """End the announcements silent for the gap; return them."""
        ended = [
            announcement
            for announcement in self._active.values()
            if now - announcement.last_arrival >= self.gap_seconds
        ]
        for announcement in ended:
            announcement.finish()
            del self._active[announcement.ssrc]
            _LOGGER.info(
                "%s: announcement from %s ended: %d packets, %.2f s",
                self.name,
                announcement.source,
                announcement.packets,
                announcement.duration_s,
            )
        self._forget_sources(ended)
        self._trim()
        return ended

    def next_deadline(self) -> float | None:
        """Return when the next announcement ends if nothing more arrives."""
        if not self._active:
            return None
        return min(item.last_arrival for item in self._active.values()) + (
            self.gap_seconds
        )

    def reset(self) -> None:
        """Forget every announcement and counter."""
        self.packets_total = self.malformed = self.rtcp = 0
        self._active.clear()
        self._by_source.clear()
        self._announcements.clear()

    def _forget_sources(self, ended: Iterable[Announcement]) -> None:
        """Stop charging bad datagrams to ended announcements."""
        gone = {id(announcement) for announcement in ended}
        for source in [
            source
            for source, announcement in self._by_source.items()
            if id(announcement) in gone
        ]:
            del self._by_source[source]

    def _trim(self) -> None:
        """Drop the oldest ended announcements beyond ``history``."""
        while len(self._announcements) > self.history:
            oldest_ended = next(
                (item for item in self._announcements if item.complete), None
            )
            if oldest_ended is None:
                return
            self._announcements.remove(oldest_ended)
