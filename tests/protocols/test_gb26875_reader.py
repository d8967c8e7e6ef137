"""Test splitting a GB/T 26875.3 TCP stream into frames."""

from datetime import datetime

import pytest

from custom_components.smart_community.protocols.gb26875 import (
    Action,
    ChecksumMode,
    Frame,
    FrameReader,
    StreamProblem,
    encode_frame,
)
from custom_components.smart_community.protocols.gb26875.reader import (
    DEFAULT_MAX_DATA_LENGTH,
    MAX_WAITING_STARTS,
    REPORT_RUN_EVERY,
)

from .test_gb26875_frame import EXAMPLE_ACK, EXAMPLE_FRAME

type Output = list[bytes | StreamProblem]


def numbered(
    serial: int, data: bytes = b"\x15\x01\x01\x00\x1e\x08\x01\x05\x1a"
) -> bytes:
    """Return a transmitter state frame with a given serial."""
    return encode_frame(
        Frame(serial, (1, 1), datetime(2026, 5, 1, 8, 30), 1, 0, Action.SEND_DATA, data)
    )


def feed_all(reader: FrameReader, *chunks: bytes) -> Output:
    """Feed chunks one after another and return everything they gave."""
    out: Output = []
    for chunk in chunks:
        out += reader.feed(chunk)
    return out


def frames_of(out: Output) -> list[bytes]:
    """Keep only the frames."""
    return [item for item in out if isinstance(item, bytes)]


def problems_of(out: Output) -> list[StreamProblem]:
    """Keep only the problems."""
    return [item for item in out if isinstance(item, StreamProblem)]


# ---- splitting and merging ----


@pytest.mark.parametrize("split", range(1, len(EXAMPLE_FRAME)))
def test_split_at_every_position(split: int) -> None:
    """Give the frame once its last byte arrives, wherever the read was cut."""
    reader = FrameReader()
    assert reader.feed(EXAMPLE_FRAME[:split]) == []
    assert reader.pending == split
    assert reader.feed(EXAMPLE_FRAME[split:]) == [EXAMPLE_FRAME]
    assert reader.pending == 0
    assert reader.finish() == []


def test_byte_by_byte() -> None:
    """Put a frame together from one-byte reads."""
    reader = FrameReader()
    out = feed_all(reader, *(bytes((byte,)) for byte in EXAMPLE_FRAME + EXAMPLE_ACK))
    assert out == [EXAMPLE_FRAME, EXAMPLE_ACK]


def test_two_and_three_frames_in_one_read() -> None:
    """Give every frame of a read, in order."""
    reader = FrameReader()
    assert reader.feed(EXAMPLE_FRAME + EXAMPLE_ACK) == [EXAMPLE_FRAME, EXAMPLE_ACK]
    three = [numbered(1), numbered(2), EXAMPLE_FRAME]
    assert reader.feed(b"".join(three)) == three
    assert reader.pending == 0


def test_frames_and_a_partial_frame_in_one_read() -> None:
    """Give the complete frames and keep the start of the next."""
    reader = FrameReader()
    assert reader.feed(EXAMPLE_FRAME + numbered(7)[:10]) == [EXAMPLE_FRAME]
    assert reader.pending == 10
    assert reader.feed(numbered(7)[10:] + EXAMPLE_ACK) == [numbered(7), EXAMPLE_ACK]


def test_frame_with_at_signs_in_its_data() -> None:
    """Read a frame whose serial and data hold '@@' and '##' as one frame."""
    frame = encode_frame(
        Frame(0x4040, (1, 1), None, 0x4040, 0x2323, Action.SEND_DATA, b"@@@##@@")
    )
    reader = FrameReader()
    assert reader.feed(frame + frame) == [frame, frame]
    out = feed_all(reader, *(bytes((byte,)) for byte in frame))
    assert out == [frame]


# ---- garbage ----


def test_garbage_before_and_between_frames() -> None:
    """Skip bytes outside frames and report each run once, before the next frame."""
    reader = FrameReader()
    out = reader.feed(b"hello" + EXAMPLE_FRAME + b"\r\n" + EXAMPLE_ACK)
    assert out == [
        StreamProblem("garbage", "Bytes outside any frame", 5),
        EXAMPLE_FRAME,
        StreamProblem("garbage", "Bytes outside any frame", 2),
        EXAMPLE_ACK,
    ]


def test_garbage_run_across_reads_is_reported_once() -> None:
    """Report a run of garbage spread over several reads once, with its length."""
    reader = FrameReader()
    assert reader.feed(b"abc") == []
    assert reader.feed(b"defg@") == []
    assert reader.pending == 1
    assert reader.feed(b"x") == []
    out = reader.feed(b"yz" + EXAMPLE_ACK)
    assert out == [StreamProblem("garbage", "Bytes outside any frame", 11), EXAMPLE_ACK]


def test_stray_at_sign_before_a_frame_is_garbage() -> None:
    """Take an '@' right before a start mark for garbage, not a bad frame."""
    reader = FrameReader()
    out = reader.feed(b"@" + EXAMPLE_FRAME + b"@@" + EXAMPLE_ACK)
    assert out == [
        StreamProblem("garbage", "Bytes outside any frame", 1),
        EXAMPLE_FRAME,
        StreamProblem("garbage", "Bytes outside any frame", 2),
        EXAMPLE_ACK,
    ]


def test_only_garbage() -> None:
    """Hold nothing but a last '@' while reading garbage; report it at the end."""
    reader = FrameReader()
    assert reader.feed(b"\x00" * 100 + b"@") == []
    assert reader.pending == 1
    assert reader.finish() == [StreamProblem("garbage", "Bytes outside any frame", 101)]
    assert reader.pending == 0
    assert reader.finish() == []


def test_endless_garbage_is_reported_every_megabyte() -> None:
    """Report a run of garbage that never ends once it reaches a megabyte."""
    reader = FrameReader()
    assert reader.feed(bytes(REPORT_RUN_EVERY - 1)) == []
    out = reader.feed(bytes(10))
    assert out == [
        StreamProblem("garbage", "Bytes outside any frame", REPORT_RUN_EVERY + 9)
    ]
    assert reader.pending == 0
    assert reader.feed(b"abc" + EXAMPLE_ACK) == [
        StreamProblem("garbage", "Bytes outside any frame", 3),
        EXAMPLE_ACK,
    ]


# ---- bad frame starts ----


def too_long_start(length: int) -> bytes:
    """Return a frame header that declares ``length`` bytes of data."""
    return EXAMPLE_ACK[:24] + length.to_bytes(2, "little") + b"\x02"


def test_oversized_length_resyncs_on_the_next_frame() -> None:
    """Report a length over the limit and find the frame after it."""
    reader = FrameReader(max_data_length=100)
    out = reader.feed(too_long_start(101) + b"junk" + EXAMPLE_FRAME)
    assert out == [
        StreamProblem(
            "too_long",
            "A frame says it holds 101 bytes of application data, over the limit of 100",
            27 + 4,
        ),
        EXAMPLE_FRAME,
    ]


def test_oversized_length_split_reads() -> None:
    """Report an oversized length as soon as the header is in, whatever the reads."""
    reader = FrameReader()
    header = too_long_start(0xFFFF)
    out = feed_all(reader, header[:10], header[10:26], header[26:], EXAMPLE_ACK)
    assert [item.kind for item in problems_of(out)] == ["too_long"]
    assert frames_of(out) == [EXAMPLE_ACK]


def test_missing_end_mark_resyncs_on_the_next_frame() -> None:
    """Report a frame without '##' where its length says, and find the next one."""
    reader = FrameReader()
    broken = EXAMPLE_FRAME[:-2] + b"#!"
    out = reader.feed(broken + EXAMPLE_ACK)
    assert out == [
        StreamProblem(
            "missing_end_mark",
            "A frame of 78 bytes ends in 2321, not the end mark 2323 ('##')",
            78,
        ),
        EXAMPLE_ACK,
    ]


def test_missing_end_mark_from_a_lost_byte() -> None:
    """Recover the next frame when a byte of the one before it was lost."""
    reader = FrameReader()
    lost = EXAMPLE_FRAME[:40] + EXAMPLE_FRAME[41:]
    out = feed_all(reader, lost, EXAMPLE_FRAME, EXAMPLE_ACK)
    assert frames_of(out) == [EXAMPLE_FRAME, EXAMPLE_ACK]
    assert [item.kind for item in problems_of(out)] == ["missing_end_mark"]
    assert problems_of(out)[0].skipped == len(lost)


def test_interrupted_frame_gives_way_to_a_complete_one() -> None:
    """Give up a cut-off frame as soon as a complete frame follows it."""
    reader = FrameReader()
    cut = too_long_start(1000)
    # The device restarted mid-frame and sends its next frame: the reader does
    # not wait for 1000 bytes that will never come.
    out = feed_all(reader, cut, EXAMPLE_FRAME[:30], EXAMPLE_FRAME[30:])
    assert out == [
        StreamProblem(
            "interrupted",
            "A frame of 1030 bytes was cut off after 27 bytes by the start of a "
            "complete frame",
            27,
        ),
        EXAMPLE_FRAME,
    ]
    assert reader.pending == 0


@pytest.mark.parametrize("mode", list(ChecksumMode))
def test_interrupted_frame_needs_a_checksummed_successor(mode: ChecksumMode) -> None:
    """Look past a cut-off frame only for a frame whose checksum is right."""
    reader = FrameReader()
    good = encode_frame(Frame(9, (1, 1), None, 1, 0, Action.SEND_DATA, b"\x15"), mode)
    bad = good[:-3] + bytes(((good[-3] + 1) & 0xFF,)) + b"##"
    assert feed_all(reader, too_long_start(1000), bad) == []
    assert feed_all(reader, b"zz" + bad[:-1]) == []
    out = reader.feed(bad[-1:] + good)
    assert frames_of(out) == [good]
    assert [item.kind for item in problems_of(out)] == ["interrupted"]
    assert problems_of(out)[0].skipped == 27 + 2 * len(bad) + 2


def test_look_ahead_skips_starts_it_has_ruled_out() -> None:
    """Pass over starts too long or without an end mark while looking past a frame."""
    reader = FrameReader(max_data_length=200)
    cut = too_long_start(200)
    wrong_end = EXAMPLE_ACK[:-1] + b"!"
    out = feed_all(
        reader, cut, too_long_start(500), wrong_end, b"@", b"@", EXAMPLE_ACK[2:]
    )
    assert frames_of(out) == [EXAMPLE_ACK]
    assert [item.kind for item in problems_of(out)] == ["interrupted"]


def test_look_ahead_waits_for_an_incomplete_successor() -> None:
    """Keep waiting while the frame after a cut-off one is not complete either."""
    reader = FrameReader()
    assert feed_all(reader, too_long_start(1000), EXAMPLE_FRAME[:20]) == []
    assert reader.feed(EXAMPLE_FRAME[20:40]) == []
    out = reader.feed(EXAMPLE_FRAME[40:])
    assert frames_of(out) == [EXAMPLE_FRAME]


def test_look_ahead_past_many_incomplete_starts() -> None:
    """Find a complete frame behind many incomplete starts, keeping few of them."""
    reader = FrameReader()
    starts = [too_long_start(4000)[:-1] + bytes((n,)) for n in range(100)]
    assert feed_all(reader, *starts) == []
    assert len(reader._waiting) == MAX_WAITING_STARTS
    out = reader.feed(EXAMPLE_FRAME)
    assert frames_of(out) == [EXAMPLE_FRAME]
    assert [item.kind for item in problems_of(out)] == ["interrupted"]
    assert problems_of(out)[0].skipped == 27 * 100


def test_look_ahead_prefers_the_earliest_complete_frame() -> None:
    """Jump to the earliest of several complete frames after a cut-off one."""
    reader = FrameReader()
    first = numbered(1, bytes(1000))
    second = numbered(2)
    assert feed_all(reader, too_long_start(2000), first[:-1]) == []
    # The first frame's last byte and the whole second one arrive together.
    out = reader.feed(first[-1:] + second)
    assert frames_of(out) == [first, second]
    assert [item.kind for item in problems_of(out)] == ["interrupted"]


# ---- the end of the stream ----


def test_truncated_frame_at_the_end() -> None:
    """Report a partial frame left when the stream ends, after the open run."""
    reader = FrameReader()
    assert reader.feed(b"xy" + EXAMPLE_FRAME[:40]) == []
    assert reader.pending == 40
    assert reader.finish() == [
        StreamProblem("garbage", "Bytes outside any frame", 2),
        StreamProblem("truncated", "The stream ended 40 bytes into a frame", 40),
    ]
    assert reader.pending == 0
    # The reader can start over.
    assert reader.feed(EXAMPLE_ACK) == [EXAMPLE_ACK]


def test_finish_reports_an_open_bad_start() -> None:
    """Report a bad start whose run had not ended when the stream did."""
    reader = FrameReader()
    reader.feed(EXAMPLE_FRAME[:-2] + b"!!" + b"tail")
    assert reader.finish() == [
        StreamProblem(
            "missing_end_mark",
            "A frame of 78 bytes ends in 2121, not the end mark 2323 ('##')",
            82,
        )
    ]


# ---- limits ----


def test_buffer_stays_bounded() -> None:
    """Never hold more than one longest frame, whatever arrives."""
    reader = FrameReader(max_data_length=64)
    assert reader.max_frame_length == 94
    start = too_long_start(64)
    reader.feed(start)
    for _ in range(20):
        reader.feed(b"\x00" * 7)
        assert reader.pending < reader.max_frame_length
    reader.feed(bytes(10_000))
    assert reader.pending == 0


@pytest.mark.parametrize("limit", [-1, 0x10000])
def test_max_data_length_range(limit: int) -> None:
    """Refuse a limit the length field cannot express."""
    with pytest.raises(ValueError, match="max_data_length"):
        FrameReader(max_data_length=limit)


def test_default_limit() -> None:
    """Accept the standard's 1024 bytes and more by default, up to 4096."""
    reader = FrameReader()
    assert reader.max_frame_length == 30 + DEFAULT_MAX_DATA_LENGTH == 4126
    big = encode_frame(Frame(1, (1, 1), None, 1, 0, 2, bytes(4096)))
    assert reader.feed(big) == [big]
    bigger = encode_frame(Frame(1, (1, 1), None, 1, 0, 2, bytes(4097)))
    assert [item.kind for item in problems_of(reader.feed(bigger))] == []
    assert [item.kind for item in reader.finish()] == ["too_long"]
    zero = FrameReader(max_data_length=0)
    assert zero.feed(EXAMPLE_ACK + EXAMPLE_FRAME + EXAMPLE_ACK)[0] == EXAMPLE_ACK
