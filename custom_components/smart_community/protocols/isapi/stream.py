"""Split an alertStream body (multipart/mixed) into parts and decode their events.

The parser is fed whatever each socket read returns: a part may be split
across reads, several parts may come in one read, and line ends may be CRLF or
bare LF. A part's end is its Content-Length when it has one, otherwise the
next boundary line.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from enum import Enum, auto
import re
from typing import Final

from .errors import IsapiInvalidResponseError
from .models import AccessEvent
from .payloads import looks_like_json, looks_like_xml, parse_json

# A part larger than this without a boundary means the stream is not what we
# think it is; stop rather than buffer without end.
MAX_PART_SIZE: Final = 16 * 1024 * 1024
_BOUNDARY_PARAM: Final = re.compile(r'boundary\s*=\s*(?:"([^"]+)"|([^;,\s]+))', re.I)


def boundary_from_content_type(content_type: str) -> str | None:
    """Return the boundary parameter of a multipart Content-Type, if any."""
    if match := _BOUNDARY_PARAM.search(content_type):
        return match.group(1) or match.group(2)
    return None


@dataclass(frozen=True, slots=True)
class RawPart:
    """Hold one multipart part: lower-cased headers and body.

    ``truncated`` marks a part the stream ended in the middle of.
    """

    headers: Mapping[str, str]
    body: bytes
    truncated: bool = False

    @property
    def content_type(self) -> str:
        """Return the part's media type, lower-cased, without parameters."""
        return self.headers.get("content-type", "").partition(";")[0].strip().lower()


class _State(Enum):
    """Name where the parser is within the multipart body."""

    PREAMBLE = auto()
    DELIMITER_TAIL = auto()
    HEADERS = auto()
    BODY = auto()
    DONE = auto()


@dataclass(slots=True)
class MultipartParser:
    """Parse a multipart body incrementally; pure, with no I/O."""

    boundary: str
    max_part_size: int = MAX_PART_SIZE
    _buffer: bytearray = field(default_factory=bytearray, init=False, repr=False)
    _state: _State = field(default=_State.PREAMBLE, init=False, repr=False)
    _headers: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _length: int | None = field(default=None, init=False, repr=False)
    _scan_from: int = field(default=0, init=False, repr=False)
    _delimiter: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Check the boundary and build the delimiter."""
        if not self.boundary or len(self.boundary) > 200:
            raise ValueError("a multipart boundary has 1 to 200 characters")
        self._delimiter = b"--" + self.boundary.encode("latin-1")

    @property
    def done(self) -> bool:
        """Tell whether the closing boundary has been read."""
        return self._state is _State.DONE

    def feed(self, data: bytes) -> list[RawPart]:
        """Take the next bytes of the body; return the parts they complete."""
        self._buffer += data
        parts: list[RawPart] = []
        while self._step(parts):
            pass
        return parts

    def finish(self) -> RawPart | None:
        """End the body; return the part it cut short, if there was one."""
        state, self._state = self._state, _State.DONE
        if state in (_State.HEADERS, _State.BODY):
            return RawPart(dict(self._headers), bytes(self._buffer), truncated=True)
        return None

    def _step(self, parts: list[RawPart]) -> bool:
        """Advance one state if the buffer allows; return whether it did."""
        match self._state:
            case _State.PREAMBLE:
                return self._find_first_delimiter()
            case _State.DELIMITER_TAIL:
                return self._read_delimiter_tail()
            case _State.HEADERS:
                return self._read_header_line()
            case _State.BODY:
                return self._read_body(parts)
            case _:
                # Done: whatever follows the closing boundary is epilogue.
                self._buffer.clear()
                return False

    def _find_first_delimiter(self) -> bool:
        """Skip the preamble up to the first delimiter line."""
        if self._buffer.startswith(self._delimiter):
            index = 0
        elif (found := self._buffer.find(b"\n" + self._delimiter)) >= 0:
            index = found + 1
        else:
            # Keep a tail that may be the start of a delimiter split across reads.
            keep = len(self._delimiter) + 1
            if len(self._buffer) > keep:
                del self._buffer[:-keep]
            return False
        del self._buffer[: index + len(self._delimiter)]
        self._state = _State.DELIMITER_TAIL
        return True

    def _read_delimiter_tail(self) -> bool:
        """Read the rest of a delimiter line: "--" closes the body, else a part starts."""
        if len(self._buffer) < 2:
            return False
        if self._buffer.startswith(b"--"):
            self._state = _State.DONE
            return True
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > 1024:
                raise IsapiInvalidResponseError("A multipart boundary line never ends")
            return False
        del self._buffer[: end + 1]
        self._headers = {}
        self._length = None
        self._state = _State.HEADERS
        return True

    def _read_header_line(self) -> bool:
        """Read one header line; an empty line starts the body."""
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > 64 * 1024:
                raise IsapiInvalidResponseError("A multipart part's headers never end")
            return False
        line = bytes(self._buffer[:end]).rstrip(b"\r")
        del self._buffer[: end + 1]
        if not line.strip():
            self._state = _State.BODY
            self._scan_from = 0
            return True
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            key = name.strip().lower()
            self._headers[key] = value.strip()
            if key == "content-length":
                length = value.strip()
                self._length = int(length) if length.isdigit() else None
        return True

    def _read_body(self, parts: list[RawPart]) -> bool:
        """Complete the body by its length, or by the next delimiter line."""
        if self._length is not None:
            if len(self._buffer) < self._length:
                return False
            body = bytes(self._buffer[: self._length])
            del self._buffer[: self._length]
            # The line end before the next delimiter is found by the preamble scan.
            self._state = _State.PREAMBLE
        else:
            marker = b"\n" + self._delimiter
            found = self._buffer.find(marker, self._scan_from)
            if found < 0:
                if len(self._buffer) > self.max_part_size:
                    raise IsapiInvalidResponseError(
                        f"A multipart part is larger than {self.max_part_size} bytes"
                    )
                self._scan_from = max(0, len(self._buffer) - len(marker) + 1)
                return False
            end = found - 1 if found > 0 and self._buffer[found - 1] == 0x0D else found
            body = bytes(self._buffer[:end])
            del self._buffer[: found + 1]
            self._state = _State.PREAMBLE
        parts.append(RawPart(dict(self._headers), body))
        return True


@dataclass(frozen=True, slots=True)
class ParsedPart:
    """Hold one alert stream part and what it says.

    ``event`` is the decoded event (a heartbeat has kind HEARTBEAT), or None
    for a part that carries none (a picture, a truncated part, unreadable JSON);
    ``error`` then says why.
    """

    part: RawPart
    event: AccessEvent | None
    error: str | None = None

    @property
    def truncated(self) -> bool:
        """Tell whether the stream ended inside this part."""
        return self.part.truncated


def decode_part(part: RawPart, default_tz: tzinfo | None = None) -> ParsedPart:
    """Decode the event a part carries; never raise."""
    if part.truncated:
        return ParsedPart(part, None, "the stream ended inside this part")
    content_type = part.content_type
    body = part.body
    try:
        # Some firmware labels JSON as text/plain or XML as JSON: trust the body.
        if looks_like_json(body) and not content_type.startswith("image/"):
            return ParsedPart(
                part, AccessEvent.from_stream_json(parse_json(body), default_tz)
            )
        if looks_like_xml(body) and not content_type.startswith("image/"):
            return ParsedPart(part, AccessEvent.from_stream_xml(body, default_tz))
    except IsapiInvalidResponseError as err:
        return ParsedPart(part, None, str(err))
    return ParsedPart(part, None, f"no event in a {content_type or 'untyped'} part")


def sniff_boundary(data: bytes) -> str | None:
    """Guess the boundary of a captured body from its first "--" line."""
    for raw_line in data.split(b"\n", 50)[:50]:
        line = raw_line.strip()
        if line.startswith(b"--") and len(line) > 2:
            return line[2:].decode("latin-1").removesuffix("--")
    return None


def parse_alert_stream(
    data: bytes, boundary: str | None = None, *, default_tz: tzinfo | None = None
) -> list[ParsedPart]:
    """Decode a whole captured alertStream body, part by part.

    The boundary is guessed from the first "--" line when not given. A part
    the capture ends inside is returned with ``truncated`` set, not raised.
    """
    if boundary is None and (boundary := sniff_boundary(data)) is None:
        return []
    parser = MultipartParser(boundary)
    parts = parser.feed(data)
    if (last := parser.finish()) is not None:
        parts.append(last)
    return [decode_part(part, default_tz) for part in parts]
