"""Encode GB/T 26875.3 frames and split a byte stream back into frames.

Layout (all integers little-endian)::

    '@@' | serial u16 | version 2B | time 6B | source 6B | destination 6B
         | app-data length u16 | action 1B | app data | checksum 1B | '##'

The time is (second, minute, hour, day, month, year - 2000). The checksum covers
the bytes from the serial through the last app-data byte: their sum modulo 256
in the standard, or their XOR on some vendors' devices.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
import re
import struct
from typing import Final

START: Final = b"@@"
END: Final = b"##"
# '@@' through the action byte, and checksum plus '##'.
HEADER_SIZE: Final = 27
TRAILER_SIZE: Final = 3
ADDRESS_SIZE: Final = 6
MAX_ADDRESS: Final = (1 << (8 * ADDRESS_SIZE)) - 1
MAX_SERIAL: Final = 0xFFFF
# The standard caps a frame's application data at 1024 bytes.
MAX_APP_DATA: Final = 1024
# Major, minor: the 2011 edition.
VERSION: Final = (1, 1)

_HEADER: Final = struct.Struct("<2sH2B6s6s6sHB")
_ADDRESS_TEXT: Final = re.compile(r"[0-9a-fA-F]{12}")


class Action(IntEnum):
    """Name the command byte (命令字) of a frame."""

    CONTROL = 1
    SEND_DATA = 2
    ACK = 3
    REQUEST = 4
    RESPONSE = 5
    DENY = 6


class ChecksumMode(StrEnum):
    """Name how the checksum byte is computed."""

    SUM = "sum"
    XOR = "xor"


def checksum(data: bytes, mode: ChecksumMode) -> int:
    """Return the checksum byte of ``data`` (serial through the last app byte)."""
    if mode is ChecksumMode.SUM:
        return sum(data) & 0xFF
    result = 0
    for byte in data:
        result ^= byte
    return result


def encode_time(moment: datetime) -> bytes:
    """Return the 6-byte time field: second, minute, hour, day, month, year - 2000."""
    if not 2000 <= moment.year <= 2255:
        raise ValueError(f"year {moment.year} does not fit the time field")
    return bytes(
        (
            moment.second,
            moment.minute,
            moment.hour,
            moment.day,
            moment.month,
            moment.year - 2000,
        )
    )


def parse_address(text: str) -> int:
    """Read a 6-byte address written as 12 hex digits (most significant first)."""
    if not _ADDRESS_TEXT.fullmatch(text):
        raise ValueError(f"an address is 12 hex digits, not {text!r}")
    return int(text, 16)


def format_address(address: int) -> str:
    """Write a 6-byte address as 12 hex digits."""
    return f"{address:012x}"


def encode_address(address: int) -> bytes:
    """Return an address as the frame carries it: 6 bytes, least significant first."""
    if not 0 <= address <= MAX_ADDRESS:
        raise ValueError(f"address {address} does not fit 6 bytes")
    return address.to_bytes(ADDRESS_SIZE, "little")


@dataclass(frozen=True, slots=True)
class Frame:
    """Hold what one frame says, ready to encode."""

    serial: int
    action: Action
    source: int
    destination: int
    time: datetime
    app_data: bytes = b""
    version: tuple[int, int] = VERSION

    def encode(self, mode: ChecksumMode = ChecksumMode.SUM) -> bytes:
        """Return the frame's bytes, from '@@' to '##'."""
        if not 0 <= self.serial <= MAX_SERIAL:
            raise ValueError(f"serial {self.serial} does not fit 16 bits")
        if len(self.app_data) > MAX_APP_DATA:
            raise ValueError(
                f"{len(self.app_data)} bytes of app data exceed {MAX_APP_DATA}"
            )
        head = _HEADER.pack(
            START,
            self.serial,
            *self.version,
            encode_time(self.time),
            encode_address(self.source),
            encode_address(self.destination),
            len(self.app_data),
            self.action,
        )
        covered = head[len(START) :] + self.app_data
        return START + covered + bytes((checksum(covered, mode),)) + END


@dataclass(frozen=True, slots=True)
class ReceivedFrame:
    """Hold a frame read off the wire, whether or not its checksum holds."""

    serial: int
    version: tuple[int, int]
    time: bytes
    source: int
    destination: int
    action: int
    app_data: bytes
    checksum: int
    checksum_ok: bool
    raw: bytes


class FrameReader:
    """Reassemble frames from a TCP byte stream that may split or merge them.

    Bytes before an '@@', and a would-be frame whose declared length does not
    end in '##', are skipped and counted in ``discarded``; the reader then looks
    for the next '@@'. The checksum is checked, not enforced: the caller decides
    what a frame with a bad checksum means.
    """

    def __init__(self, mode: ChecksumMode, *, max_app_data: int = MAX_APP_DATA) -> None:
        """Read frames whose checksums are computed in ``mode``."""
        self.mode = mode
        self.max_app_data = max_app_data
        self.discarded = 0
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Count the bytes held back waiting for the rest of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[ReceivedFrame]:
        """Add received bytes; return every frame they complete."""
        self._buffer += data
        return list(self._frames())

    def _frames(self) -> Iterator[ReceivedFrame]:
        """Take complete frames off the front of the buffer."""
        buffer = self._buffer
        while True:
            start = buffer.find(START)
            if start < 0:
                # Keep a trailing '@' that may be the first half of a start mark.
                keep = 1 if buffer.endswith(START[:1]) else 0
                self.discarded += len(buffer) - keep
                del buffer[: len(buffer) - keep]
                return
            if start:
                self.discarded += start
                del buffer[:start]
            if len(buffer) < HEADER_SIZE:
                return
            (_, serial, major, minor, time, source, destination, length, action) = (
                _HEADER.unpack_from(buffer)
            )
            total = HEADER_SIZE + length + TRAILER_SIZE
            if length > self.max_app_data:
                self._skip_start()
                continue
            if len(buffer) < total:
                return
            if buffer[total - len(END) : total] != END:
                self._skip_start()
                continue
            raw = bytes(buffer[:total])
            del buffer[:total]
            received = raw[-TRAILER_SIZE]
            yield ReceivedFrame(
                serial=serial,
                version=(major, minor),
                time=time,
                source=int.from_bytes(source, "little"),
                destination=int.from_bytes(destination, "little"),
                action=action,
                app_data=raw[HEADER_SIZE:-TRAILER_SIZE],
                checksum=received,
                checksum_ok=checksum(raw[len(START) : -TRAILER_SIZE], self.mode)
                == received,
                raw=raw,
            )

    def _skip_start(self) -> None:
        """Drop the first byte of a start mark that began no frame, to resync."""
        # One byte only: in '@@@' the real start mark may begin at the second '@'.
        self.discarded += 1
        del self._buffer[:1]
