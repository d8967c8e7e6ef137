"""Split a GB/T 26875.3 TCP byte stream into frames.

TCP delivers bytes, not frames: a read may hold half a frame, or three. The
reader keeps what it has not used yet and hands out each frame whose start
mark, length and end mark agree. It does not check checksums, because the
checksum mode depends on the sender, whose address is inside the frame.

Bytes that belong to no frame are skipped and reported, once per run of
skipped bytes, as a StreamProblem: when the run ends (at the next frame), at
``finish``, or every megabyte of a run that does not end. After a frame start
that proves bad (a length over the limit, no end mark where the length says),
the reader looks for the next start mark one byte after the bad one.

While a frame is incomplete the reader also looks past it: if a complete frame
with its end mark in place and a checksum right in either mode starts further
on, the incomplete start was a fragment (a device that restarted mid-frame, a
mangled length) and is given up, so a device waiting for an ack does not wait
for a frame that never comes. Each later start is examined once when its header
is in and once when its last byte is, so the look-ahead costs little however
the stream is cut. Memory stays bounded: the buffer never holds more than one
frame of the maximum length plus one read.
"""

from dataclasses import dataclass
import heapq
from typing import Final

from .frame import (
    END_MARK,
    HEADER_LENGTH,
    LENGTH_OFFSET,
    MAX_DATA_LENGTH,
    MIN_FRAME_LENGTH,
    START_MARK,
    TRAILER_LENGTH,
    ChecksumMode,
    checksum,
)

DEFAULT_MAX_DATA_LENGTH: Final = 4096
# A run of skipped bytes this long is reported even though it has not ended.
REPORT_RUN_EVERY: Final = 1 << 20
# The look-ahead keeps at most this many incomplete starts; a stream holding
# more is made to be hostile, and its starts are judged in turn as heads.
MAX_WAITING_STARTS: Final = 64

GARBAGE: Final = "garbage"
TOO_LONG: Final = "too_long"
MISSING_END_MARK: Final = "missing_end_mark"
INTERRUPTED: Final = "interrupted"
TRUNCATED: Final = "truncated"

_MARK_BYTE: Final = START_MARK[:1]


@dataclass(frozen=True, slots=True)
class StreamProblem:
    """Report bytes the reader skipped, and why.

    ``kind`` is "garbage" (bytes outside any frame), "too_long" (a frame start
    whose length is over the limit), "missing_end_mark" (no '##' where the
    length puts it), "interrupted" (a frame start that never completed before a
    complete frame began) or "truncated" (the stream ended inside a frame).
    ``skipped`` counts every byte dropped for it, up to the next frame start.
    """

    kind: str
    detail: str
    skipped: int


def _is_frame(candidate: bytes | bytearray) -> bool:
    """Tell whether a complete candidate's checksum is right in some mode."""
    body = bytes(candidate[2:-TRAILER_LENGTH])
    found = candidate[-TRAILER_LENGTH]
    return any(checksum(body, mode) == found for mode in ChecksumMode)


class FrameReader:
    """Split one connection's bytes into raw frames; see the module's docstring."""

    def __init__(self, max_data_length: int = DEFAULT_MAX_DATA_LENGTH) -> None:
        """Accept frames with up to ``max_data_length`` bytes of application data."""
        if not 0 <= max_data_length <= MAX_DATA_LENGTH:
            raise ValueError(
                f"max_data_length must be 0 to {MAX_DATA_LENGTH}, not {max_data_length}"
            )
        self._max_data_length = max_data_length
        self._buffer = bytearray()
        # Offsets below count from the start of the stream, so that they stay
        # right when the buffer's head is dropped. _base is the buffer's first
        # byte; the look-ahead has examined every start before _scanned;
        # _waiting holds (end, start) of later starts waiting for their last byte.
        self._base = 0
        self._scanned = 0
        self._waiting: list[tuple[int, int]] = []
        self._run_kind: str | None = None
        self._run_detail = ""
        self._run_skipped = 0

    @property
    def pending(self) -> int:
        """Return how many bytes are buffered, waiting for the rest of a frame."""
        return len(self._buffer)

    @property
    def max_frame_length(self) -> int:
        """Return the length of the longest frame accepted."""
        return MIN_FRAME_LENGTH + self._max_data_length

    def feed(self, data: bytes) -> list[bytes | StreamProblem]:
        """Take the next bytes read; return the frames and problems they complete."""
        out: list[bytes | StreamProblem] = []
        self._buffer += data
        while self._step(out):
            pass
        return out

    def finish(self) -> list[StreamProblem]:
        """End the stream: report the open run of skipped bytes and any partial frame."""
        out: list[bytes | StreamProblem] = []
        buffer = self._buffer
        if buffer and not buffer.startswith(START_MARK):
            self._skip(len(buffer), out)
        self._close_run(out)
        if buffer:
            out.append(
                StreamProblem(
                    TRUNCATED,
                    f"The stream ended {len(buffer)} bytes into a frame",
                    len(buffer),
                )
            )
            self._drop(len(buffer))
        self._waiting.clear()
        return [item for item in out if isinstance(item, StreamProblem)]

    def _step(self, out: list[bytes | StreamProblem]) -> bool:
        """Handle what starts the buffer; return whether to go on."""
        buffer = self._buffer
        start = buffer.find(START_MARK)
        if start < 0:
            # A last '@' may be the first half of a start mark.
            self._skip(len(buffer) - buffer.endswith(_MARK_BYTE), out)
            return False
        if start:
            self._skip(start, out)
        if len(buffer) < HEADER_LENGTH:
            return False
        length = int.from_bytes(buffer[LENGTH_OFFSET : LENGTH_OFFSET + 2], "little")
        if length > self._max_data_length:
            self._bad_start(
                TOO_LONG,
                f"A frame says it holds {length} bytes of application data, "
                f"over the limit of {self._max_data_length}",
                out,
            )
            return True
        end = MIN_FRAME_LENGTH + length
        if len(buffer) < end:
            successor = self._complete_frame_after_start()
            if successor is None:
                return False
            self._bad_start(
                INTERRUPTED,
                f"A frame of {end} bytes was cut off after {successor} bytes "
                "by the start of a complete frame",
                out,
                successor,
            )
            return True
        if buffer[end - 2 : end] != END_MARK:
            self._bad_start(
                MISSING_END_MARK,
                f"A frame of {end} bytes ends in {bytes(buffer[end - 2 : end]).hex()},"
                " not the end mark 2323 ('##')",
                out,
            )
            return True
        self._close_run(out)
        out.append(bytes(buffer[:end]))
        self._drop(end)
        return True

    def _complete_frame_after_start(self) -> int | None:
        """Return where the first complete, checksummed frame after the head starts.

        Return a buffer offset, or None when no such frame is in the buffer yet.
        """
        buffer = self._buffer
        base = self._base
        found: int | None = None
        # Starts not examined yet whose header is in the buffer.
        position = max(self._scanned - base, 1)
        last = len(buffer) - HEADER_LENGTH
        while (
            found is None
            and (position := buffer.find(START_MARK, position, last + 2)) >= 0
        ):
            at = position + LENGTH_OFFSET
            length = int.from_bytes(buffer[at : at + 2], "little")
            end = position + MIN_FRAME_LENGTH + length
            if length > self._max_data_length:
                pass
            elif end > len(buffer):
                if len(self._waiting) < MAX_WAITING_STARTS:
                    heapq.heappush(self._waiting, (base + end, base + position))
            elif self._is_frame_at(position, end):
                found = position
            position += 1
        self._scanned = base + (position if position >= 0 else max(last + 1, 1))
        # Earlier starts whose last byte has come.
        while self._waiting and self._waiting[0][0] <= base + len(buffer):
            end, start = heapq.heappop(self._waiting)
            start -= base
            if 0 < start < (
                len(buffer) if found is None else found
            ) and self._is_frame_at(start, end - base):
                found = start
        return found

    def _is_frame_at(self, start: int, end: int) -> bool:
        """Tell whether the buffer holds a frame from start to end: end mark, checksum."""
        candidate = self._buffer[start:end]
        return candidate.endswith(END_MARK) and _is_frame(candidate)

    def _bad_start(
        self, kind: str, detail: str, out: list[bytes | StreamProblem], skip: int = 1
    ) -> None:
        """Give up the frame start at the buffer's head: report it, skip past it."""
        if skip == 1 and self._buffer[1:3] == START_MARK:
            # '@@@': the first '@' was a stray byte before a start mark.
            self._skip(1, out)
            return
        self._close_run(out)
        self._run_kind = kind
        self._run_detail = detail
        self._skip(skip, out)

    def _skip(self, count: int, out: list[bytes | StreamProblem]) -> None:
        """Drop bytes from the buffer's head into the open run, opening one if needed."""
        if not count:
            return
        if self._run_kind is None:
            self._run_kind = GARBAGE
            self._run_detail = "Bytes outside any frame"
        self._run_skipped += count
        self._drop(count)
        if self._run_skipped >= REPORT_RUN_EVERY:
            self._close_run(out)

    def _close_run(self, out: list[bytes | StreamProblem]) -> None:
        """Report the open run of skipped bytes, if there is one."""
        if self._run_kind is not None:
            out.append(
                StreamProblem(self._run_kind, self._run_detail, self._run_skipped)
            )
        self._run_kind = None
        self._run_detail = ""
        self._run_skipped = 0

    def _drop(self, count: int) -> None:
        """Remove bytes from the buffer's head."""
        del self._buffer[:count]
        self._base += count
