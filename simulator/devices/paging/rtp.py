"""Parse RTP data packets (RFC 3550 §5.1) and tell RTCP apart (RFC 5761 §4)."""

from dataclasses import dataclass
import struct
from typing import Final

RTP_VERSION: Final = 2
_FIXED_HEADER: Final = struct.Struct("!BBHII")
_EXTENSION_HEADER: Final = struct.Struct("!HH")
_CSRC_SIZE: Final = 4
_WORD: Final = 4
# RTCP packet types 200-204 read as marker + payload type 72-76 in an RTP header.
_RTCP_PAYLOAD_TYPES: Final = range(72, 77)


class RtpError(ValueError):
    """Say why a datagram is not a valid RTP packet."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """Hold the header fields and the payload of one RTP packet."""

    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    csrcs: tuple[int, ...] = ()
    # The header extension's profile id, if the packet has one.
    extension_profile: int | None = None
    # Bytes of padding removed from the end of the payload.
    padding: int = 0


def is_rtcp(datagram: bytes) -> bool:
    """Say whether a datagram looks like RTCP multiplexed on the RTP port."""
    return (
        len(datagram) >= 2
        and datagram[0] >> 6 == RTP_VERSION
        and datagram[1] & 0x7F in _RTCP_PAYLOAD_TYPES
    )


def parse_rtp(datagram: bytes) -> RtpPacket:
    """Parse one RTP datagram; raise ``RtpError`` if it is not valid RTP."""
    if len(datagram) < _FIXED_HEADER.size:
        raise RtpError(f"{len(datagram)} bytes is shorter than an RTP header")
    first, second, sequence, timestamp, ssrc = _FIXED_HEADER.unpack_from(datagram)
    if (version := first >> 6) != RTP_VERSION:
        raise RtpError(f"RTP version {version}, not {RTP_VERSION}")
    has_padding = bool(first & 0x20)
    has_extension = bool(first & 0x10)
    csrc_count = first & 0x0F
    offset = _FIXED_HEADER.size
    end = offset + csrc_count * _CSRC_SIZE
    if len(datagram) < end:
        raise RtpError(f"{csrc_count} CSRCs do not fit in {len(datagram)} bytes")
    csrcs = struct.unpack_from(f"!{csrc_count}I", datagram, offset)
    offset = end
    extension_profile: int | None = None
    if has_extension:
        if len(datagram) < offset + _EXTENSION_HEADER.size:
            raise RtpError("the header extension is cut off")
        extension_profile, words = _EXTENSION_HEADER.unpack_from(datagram, offset)
        offset += _EXTENSION_HEADER.size + words * _WORD
        if len(datagram) < offset:
            raise RtpError(f"a {words}-word header extension is cut off")
    end = len(datagram)
    padding = 0
    if has_padding:
        # The last byte counts the padding, itself included.
        padding = datagram[-1]
        if padding == 0 or padding > end - offset:
            raise RtpError(f"padding of {padding} bytes does not fit the payload")
        end -= padding
    return RtpPacket(
        marker=bool(second & 0x80),
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=bytes(datagram[offset:end]),
        csrcs=tuple(csrcs),
        extension_profile=extension_profile,
        padding=padding,
    )
