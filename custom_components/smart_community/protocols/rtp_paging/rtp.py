"""Packetise G.711 audio into RTP (RFC 3550) for paging speakers.

Each packet carries 20 ms: 160 samples, one byte each, behind a 12-byte
header with no CSRCs, extension or padding. The marker bit opens a talkspurt
(RFC 3551 §4.1): it is set on the first packet of each ``packets`` call.
"""

from dataclasses import dataclass
import secrets
import struct
from typing import Final

from .codec import FRAME_SAMPLES, G711

HEADER_LENGTH: Final = 12
RTP_VERSION: Final = 2
_HEADER: Final = struct.Struct("!BBHII")
_SEQUENCE_MOD: Final = 1 << 16
_TIMESTAMP_MOD: Final = 1 << 32


@dataclass(frozen=True, slots=True)
class RtpHeader:
    """Hold the fields of an RTP header.

    ``header_length`` counts the CSRC list and the extension, so that the
    payload starts there; ``payload_length`` leaves out the padding.
    """

    version: int
    padding: bool
    extension: bool
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    csrcs: tuple[int, ...]
    header_length: int
    payload_length: int


def parse_rtp_header(packet: bytes) -> RtpHeader:
    """Read the header of an RTP packet; raise ValueError if it is cut short."""
    if len(packet) < HEADER_LENGTH:
        raise ValueError(f"An RTP packet has at least 12 bytes, not {len(packet)}")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(packet)
    csrc_count = first & 0x0F
    length = HEADER_LENGTH + 4 * csrc_count
    if len(packet) < length:
        raise ValueError(f"The packet is too short for {csrc_count} CSRCs")
    csrcs = struct.unpack_from(f"!{csrc_count}I", packet, HEADER_LENGTH)
    if first & 0x10:
        if len(packet) < length + 4:
            raise ValueError("The packet is too short for its header extension")
        (words,) = struct.unpack_from("!H", packet, length + 2)
        length += 4 + 4 * words
        if len(packet) < length:
            raise ValueError("The packet is too short for its header extension")
    padding = packet[-1] if first & 0x20 else 0
    if length + padding > len(packet):
        raise ValueError("The packet's padding count is larger than its payload")
    return RtpHeader(
        version=first >> 6,
        padding=bool(first & 0x20),
        extension=bool(first & 0x10),
        marker=bool(second & 0x80),
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        csrcs=csrcs,
        header_length=length,
        payload_length=len(packet) - length - padding,
    )


def _initial(value: int | None, bits: int, name: str) -> int:
    """Return a given initial value after checking it, or a random one."""
    if value is None:
        return secrets.randbits(bits)
    if not 0 <= value < 1 << bits:
        raise ValueError(f"The {name} must fit in {bits} bits, not {value}")
    return value


class RtpPacketizer:
    """Number and timestamp one stream's packets: one SSRC, one codec.

    Initial values the caller leaves out are random, as RFC 3550 §5.1
    recommends; sequence and timestamp wrap around and go on across calls.
    """

    def __init__(
        self,
        codec: G711,
        *,
        ssrc: int | None = None,
        sequence: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Start a stream, with random initial values unless given."""
        self.codec = codec
        self._ssrc = _initial(ssrc, 32, "SSRC")
        self._sequence = _initial(sequence, 16, "sequence number")
        self._timestamp = _initial(timestamp, 32, "timestamp")
        self._pad = bytes((codec.silence,)) * FRAME_SAMPLES

    @property
    def ssrc(self) -> int:
        """Return the synchronisation source identifier."""
        return self._ssrc

    @property
    def sequence(self) -> int:
        """Return the sequence number the next packet gets."""
        return self._sequence

    @property
    def timestamp(self) -> int:
        """Return the timestamp the next packet gets."""
        return self._timestamp

    def packet(self, frame: bytes, *, marker: bool = False) -> bytes:
        """Return one packet of up to 160 samples, padded with silence."""
        if len(frame) > FRAME_SAMPLES:
            raise ValueError(f"A frame has at most {FRAME_SAMPLES} samples")
        if len(frame) < FRAME_SAMPLES:
            frame = frame + self._pad[len(frame) :]
        header = _HEADER.pack(
            0x80,
            (0x80 if marker else 0) | self.codec.payload_type,
            self._sequence,
            self._timestamp,
            self._ssrc,
        )
        self._sequence = (self._sequence + 1) % _SEQUENCE_MOD
        self._timestamp = (self._timestamp + FRAME_SAMPLES) % _TIMESTAMP_MOD
        return header + frame

    def packets(self, payload: bytes) -> list[bytes]:
        """Cut audio into packets; the first carries the marker bit."""
        return [
            self.packet(payload[start : start + FRAME_SAMPLES], marker=start == 0)
            for start in range(0, len(payload), FRAME_SAMPLES)
        ]
