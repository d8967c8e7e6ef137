"""Encode and decode the frames of GB/T 26875.3-2011.

Every frame, in either direction, has this layout (multi-byte fields are
little-endian)::

    '@@' | serial u16 | version (major, minor) | time 6 B | source 6 B
         | destination 6 B | data length u16 | action 1 B | data | checksum | '##'

The time is second, minute, hour, day, month, year - 2000, in the sender's
local time. The checksum is the sum, modulo 256, of every byte from the serial
through the last data byte; some vendors XOR those bytes instead, so the mode
is a parameter. Pure and synchronous: no I/O.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from functools import reduce
from operator import xor
import re
from typing import Final

from .errors import ChecksumMismatchError, MalformedFrameError

START_MARK: Final = b"@@"
END_MARK: Final = b"##"
# Start mark 2, serial 2, version 2, time 6, source 6, destination 6, length 2, action 1.
HEADER_LENGTH: Final = 27
# Checksum 1, end mark 2.
TRAILER_LENGTH: Final = 3
MIN_FRAME_LENGTH: Final = HEADER_LENGTH + TRAILER_LENGTH
LENGTH_OFFSET: Final = 24
ACTION_OFFSET: Final = 26
# The standard caps application data at 1024 bytes; the length field holds more.
STANDARD_MAX_DATA_LENGTH: Final = 1024
MAX_DATA_LENGTH: Final = 0xFFFF
MAX_SERIAL: Final = 0xFFFF
ADDRESS_LENGTH: Final = 6
MAX_ADDRESS: Final = (1 << 8 * ADDRESS_LENGTH) - 1
TIME_LENGTH: Final = 6
DEFAULT_VERSION: Final = (1, 1)
MIN_YEAR: Final = 2000
MAX_YEAR: Final = MIN_YEAR + 0xFF

_ZERO_TIME: Final = bytes(TIME_LENGTH)
_ADDRESS_SEPARATORS: Final = re.compile(r"[\s:\-]")
_ADDRESS_DIGITS: Final = re.compile(r"[0-9A-Fa-f]{1,12}")


class ChecksumMode(StrEnum):
    """Say how the checksum byte is computed."""

    SUM = "sum"  # the standard: the byte sum, modulo 256
    XOR = "xor"  # a vendor variant: the bytes XORed together


class Action(IntEnum):
    """Give the action codes (命令字) of the standard's table 2."""

    CONTROL = 1
    SEND_DATA = 2
    ACK = 3
    REQUEST = 4
    RESPONSE = 5
    REJECT = 6


@dataclass(frozen=True, slots=True)
class Frame:
    """Hold one frame.

    ``time`` is the sender's local time, naive; None when its six bytes are not
    a date (all zeros, say). ``source`` and ``destination`` are the 6-byte
    addresses as integers; ``format_address`` writes them as the devices'
    labels do. ``data`` is the raw application data, empty for an ack.
    """

    serial: int
    version: tuple[int, int]
    time: datetime | None
    source: int
    destination: int
    action: int
    data: bytes = b""


def checksum(body: bytes, mode: ChecksumMode) -> int:
    """Return the checksum of the bytes from the serial through the last data byte."""
    if mode is ChecksumMode.XOR:
        return reduce(xor, body, 0)
    return sum(body) & 0xFF


def decode_time(raw: bytes) -> datetime | None:
    """Return the six time bytes as a naive datetime, or None if they are no date."""
    second, minute, hour, day, month, year = raw
    try:
        return datetime(MIN_YEAR + year, month, day, hour, minute, second)
    except ValueError:
        return None


def encode_time(time: datetime | None) -> bytes:
    """Return a time as its six bytes, zeros for None; the time zone is ignored."""
    if time is None:
        return _ZERO_TIME
    if not MIN_YEAR <= time.year <= MAX_YEAR:
        raise ValueError(
            f"A frame's time must be in the years {MIN_YEAR} to {MAX_YEAR}, not {time.year}"
        )
    return bytes(
        (
            time.second,
            time.minute,
            time.hour,
            time.day,
            time.month,
            time.year - MIN_YEAR,
        )
    )


def _check_range(name: str, value: int, maximum: int) -> None:
    """Refuse a field value that does not fit its bytes."""
    if not 0 <= value <= maximum:
        raise ValueError(f"{name} must be 0 to {maximum}, not {value}")


def encode_frame(frame: Frame, mode: ChecksumMode = ChecksumMode.SUM) -> bytes:
    """Return a frame's bytes; raise ValueError for a field that does not fit."""
    _check_range("serial", frame.serial, MAX_SERIAL)
    major, minor = frame.version
    _check_range("version major", major, 0xFF)
    _check_range("version minor", minor, 0xFF)
    _check_range("source", frame.source, MAX_ADDRESS)
    _check_range("destination", frame.destination, MAX_ADDRESS)
    _check_range("action", frame.action, 0xFF)
    _check_range("application data length", len(frame.data), MAX_DATA_LENGTH)
    body = b"".join(
        (
            frame.serial.to_bytes(2, "little"),
            bytes((major, minor)),
            encode_time(frame.time),
            frame.source.to_bytes(ADDRESS_LENGTH, "little"),
            frame.destination.to_bytes(ADDRESS_LENGTH, "little"),
            len(frame.data).to_bytes(2, "little"),
            bytes((frame.action,)),
            frame.data,
        )
    )
    return START_MARK + body + bytes((checksum(body, mode),)) + END_MARK


def decode_frame_unchecked(raw: bytes) -> tuple[Frame, int]:
    """Decode exactly one frame without checking its checksum.

    Return the frame and the checksum byte it carries. The checksum mode may
    depend on the sender, whose address is in the frame: decode first, then
    ``verify_checksum``. Raise MalformedFrameError naming the field at fault.
    """
    if len(raw) < MIN_FRAME_LENGTH:
        raise MalformedFrameError(
            f"The frame is {len(raw)} bytes; the shortest frame is {MIN_FRAME_LENGTH}"
        )
    if raw[:2] != START_MARK:
        raise MalformedFrameError(f"The start mark is {raw[:2].hex()}, not 4040 ('@@')")
    length = int.from_bytes(raw[LENGTH_OFFSET : LENGTH_OFFSET + 2], "little")
    if len(raw) != MIN_FRAME_LENGTH + length:
        raise MalformedFrameError(
            f"The length field says {length} bytes of application data, "
            f"but the frame holds {len(raw) - MIN_FRAME_LENGTH}"
        )
    if raw[-2:] != END_MARK:
        raise MalformedFrameError(f"The end mark is {raw[-2:].hex()}, not 2323 ('##')")
    frame = Frame(
        serial=int.from_bytes(raw[2:4], "little"),
        version=(raw[4], raw[5]),
        time=decode_time(raw[6:12]),
        source=int.from_bytes(raw[12:18], "little"),
        destination=int.from_bytes(raw[18:24], "little"),
        action=raw[ACTION_OFFSET],
        data=bytes(raw[HEADER_LENGTH:-TRAILER_LENGTH]),
    )
    return frame, raw[-TRAILER_LENGTH]


def verify_checksum(raw: bytes, mode: ChecksumMode) -> None:
    """Raise ChecksumMismatchError unless a whole frame's checksum byte is right."""
    expected = checksum(raw[2:-TRAILER_LENGTH], mode)
    found = raw[-TRAILER_LENGTH]
    if expected != found:
        raise ChecksumMismatchError(expected, found)


def decode_frame(raw: bytes, mode: ChecksumMode = ChecksumMode.SUM) -> Frame:
    """Decode exactly one complete frame and check its checksum.

    Raise MalformedFrameError for a frame that breaks the format, and its
    subclass ChecksumMismatchError for a wrong checksum.
    """
    frame, _ = decode_frame_unchecked(raw)
    verify_checksum(raw, mode)
    return frame


def ack_for(frame: Frame, now: datetime) -> Frame:
    """Return the acknowledgement of a frame: same serial and version, no data.

    The addresses are swapped, and the time is ``now`` to the second, which is
    all a frame carries.
    """
    return Frame(
        serial=frame.serial,
        version=frame.version,
        time=now.replace(microsecond=0),
        source=frame.destination,
        destination=frame.source,
        action=Action.ACK,
        data=b"",
    )


def format_address(address: int) -> str:
    """Return an address as 12 uppercase hex digits, most significant first."""
    _check_range("address", address, MAX_ADDRESS)
    return f"{address:012X}"


def parse_address(text: str) -> int:
    """Return the address 1 to 12 hex digits give; spaces, colons and dashes are ignored.

    Raise ValueError for anything else.
    """
    digits = _ADDRESS_SEPARATORS.sub("", text)
    if not _ADDRESS_DIGITS.fullmatch(digits):
        raise ValueError(f"{text!r} is not an address of 1 to 12 hex digits")
    return int(digits, 16)
