"""Fuzz the GB/T 26875.3 decoders, the stream reader and the server.

Random bytes and valid frames with bytes flipped, inserted or deleted go into
every decoder: only the package's own errors may come out. The reader takes
them in random chunks and must never raise, hold more than one frame, or lose
track of a byte. The server takes a few hundred such chunks on one connection
and must still acknowledge a good frame, on that connection and a new one.
"""

import asyncio
from collections.abc import AsyncIterator
import contextlib
import gc
import random
import tracemalloc

from hypothesis import HealthCheck, example, given, settings, strategies as st
import pytest

from custom_components.smart_community.protocols.gb26875 import (
    Action,
    ChecksumMode,
    Frame,
    FrameReader,
    Gb26875Error,
    Gb26875Server,
    StreamProblem,
    decode_application_data,
    decode_frame,
    decode_frame_unchecked,
    encode_application_data,
    encode_frame,
)

from .test_gb26875_frame import EXAMPLE_ACK, EXAMPLE_FRAME, EXAMPLE_TIME
from .test_gb26875_objects import SAMPLES
from .test_gb26875_server import Recorder, ack_of, device_frame

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

APPLICATION_DATA = [
    encode_application_data(samples[:count])
    for samples in SAMPLES.values()
    for count in (1, 2)
]
VALID_FRAMES = [
    EXAMPLE_FRAME,
    EXAMPLE_ACK,
    *(
        encode_frame(
            Frame(serial, (1, 1), EXAMPLE_TIME, 1, 0, Action.SEND_DATA, data),
            ChecksumMode.XOR if serial % 2 else ChecksumMode.SUM,
        )
        for serial, data in enumerate(APPLICATION_DATA)
    ),
]


def mutate(raw: bytes, rng: random.Random, edits: int) -> bytes:
    """Flip, insert or delete bytes at random."""
    data = bytearray(raw)
    for _ in range(edits):
        position = rng.randrange(len(data) + 1)
        match rng.randrange(3):
            case 0 if position < len(data):
                data[position] ^= rng.randrange(1, 256)
            case 1:
                data.insert(position, rng.randrange(256))
            case _ if position < len(data):
                del data[position]
    return bytes(data)


@st.composite
def mutated(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    """Draw a valid sample with one to four random edits."""
    raw = draw(st.sampled_from(originals))
    return mutate(
        raw, random.Random(draw(st.integers(0, 2**32))), draw(st.integers(1, 4))
    )


frame_bytes = (
    st.binary(max_size=200) | mutated(VALID_FRAMES) | st.sampled_from(VALID_FRAMES)
)
data_bytes = st.binary(max_size=120) | mutated(APPLICATION_DATA)
# Where a frame's six time bytes sit: after the start, serial and version.
TIME_BYTES = slice(6, 12)


# ---- decoders ----


@FUZZ
@given(frame_bytes, st.sampled_from(ChecksumMode))
# Found by this test: a clock that was never set (year byte 1, day and month 0).
@example(
    bytes.fromhex(
        "4040 0000 0000 000000000001 010105081a1e 000000000000 0c00 01"
        "0101010102020303080f1a1e b2 2323"
    ),
    ChecksumMode.SUM,
)
def test_decode_frame_raises_only_its_own_errors(
    raw: bytes, mode: ChecksumMode
) -> None:
    """Decode a frame or raise a Gb26875Error, nothing else; what decodes encodes again.

    Time bytes that are no date (a transmission device whose clock was never
    set) decode as no time and encode as zeros: the frame is kept, the bytes
    are not. Everything else comes back byte for byte.
    """
    try:
        frame = decode_frame(raw, mode)
    except Gb26875Error:
        return
    again = encode_frame(frame, mode)
    if frame.time is None:
        assert again[TIME_BYTES] == bytes(6)
        # All but the time and the checksum that covers it.
        assert again[: TIME_BYTES.start] + again[TIME_BYTES.stop : -3] == (
            raw[: TIME_BYTES.start] + raw[TIME_BYTES.stop : -3]
        )
        assert again[-2:] == raw[-2:]
    else:
        assert again == raw
    assert decode_frame_unchecked(raw)[0] == frame


@FUZZ
@given(data_bytes)
def test_decode_application_data_raises_only_its_own_errors(data: bytes) -> None:
    """Decode data or raise a Gb26875Error; what decodes encodes again."""
    try:
        decoded = decode_application_data(data)
    except Gb26875Error:
        return
    assert decoded.type_code == data[0]
    assert len(decoded.objects) == data[1]
    if decoded.objects:
        again = decode_application_data(encode_application_data(decoded.objects))
        assert again.type_code == decoded.type_code
        assert len(again.objects) == len(decoded.objects)


# ---- the reader ----


def feed_in_chunks(
    reader: FrameReader, stream: bytes, sizes: list[int]
) -> list[bytes | StreamProblem]:
    """Feed a stream in chunks of the given sizes, checking the buffer's bound."""
    out: list[bytes | StreamProblem] = []
    position = 0
    index = 0
    while position < len(stream):
        size = sizes[index % len(sizes)]
        index += 1
        out += reader.feed(stream[position : position + size])
        position += size
        assert reader.pending < reader.max_frame_length
    return out


@FUZZ
@given(
    st.lists(frame_bytes, max_size=12),
    st.lists(st.integers(1, 300), min_size=1, max_size=20),
    st.sampled_from([0, 64, 1024, 4096]),
)
def test_reader_never_raises_and_accounts_for_every_byte(
    pieces: list[bytes], sizes: list[int], limit: int
) -> None:
    """Split any stream without raising; every byte is in a frame or reported."""
    stream = b"".join(pieces)
    reader = FrameReader(max_data_length=limit)
    out = feed_in_chunks(reader, stream, sizes)
    out += reader.finish()
    assert reader.pending == 0
    frames = [item for item in out if isinstance(item, bytes)]
    skipped = sum(item.skipped for item in out if isinstance(item, StreamProblem))
    assert sum(map(len, frames)) + skipped == len(stream)
    for frame in frames:
        decode_frame_unchecked(frame)
        assert len(frame) <= reader.max_frame_length


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.binary(max_size=40).map(lambda junk: junk.replace(b"@", b"")),
            st.sampled_from(VALID_FRAMES),
        ),
        max_size=8,
    ),
    st.lists(st.integers(1, 100), min_size=1, max_size=20),
)
def test_reader_finds_every_frame_among_garbage(
    pieces: list[tuple[bytes, bytes]], sizes: list[int]
) -> None:
    """Find every frame, in order, between runs of garbage, however it is cut."""
    stream = b"".join(junk + frame for junk, frame in pieces)
    reader = FrameReader()
    out = feed_in_chunks(reader, stream, sizes)
    assert [item for item in out if isinstance(item, bytes)] == [
        frame for _, frame in pieces
    ]
    problems = [item for item in out if isinstance(item, StreamProblem)]
    assert {problem.kind for problem in problems} <= {"garbage"}
    assert sum(problem.skipped for problem in problems) == sum(
        len(junk) for junk, _ in pieces
    )


def random_chunk(rng: random.Random) -> bytes:
    """Return a chunk of traffic: noise, a bent frame, a good one, a stray mark."""
    match rng.randrange(6):
        case 0:
            return rng.randbytes(rng.randrange(1, 64))
        case 1 | 2:
            return mutate(rng.choice(VALID_FRAMES), rng, rng.randrange(1, 4))
        case 3:
            return rng.choice(VALID_FRAMES)
        case 4:
            # A frame start with any length: most say more than will ever come.
            return b"@@" + rng.randbytes(rng.randrange(0, 40))
        case _:
            return rng.choice((b"@", b"@@", b"##", b"@@@", b"#"))


def test_reader_memory_stays_flat() -> None:
    """Hold no more memory after 20,000 random chunks than after a warm-up."""
    rng = random.Random(26875)
    reader = FrameReader()

    def churn(count: int) -> None:
        for _ in range(count):
            chunk = random_chunk(rng)
            for item in reader.feed(chunk):
                if isinstance(item, bytes):
                    try:
                        frame = decode_frame(item)
                        decode_application_data(frame.data)
                    except Gb26875Error:
                        pass
            with contextlib.suppress(Gb26875Error):
                decode_application_data(chunk)

    tracemalloc.start()
    try:
        churn(2_000)
        gc.collect()
        baseline, _ = tracemalloc.get_traced_memory()
        churn(20_000)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - baseline < 256 * 1024
    assert reader.pending < reader.max_frame_length


# ---- the server ----


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[tuple[Gb26875Server, int]]:
    """Run a server that knows transmitters 1 (SUM) and 2 (XOR)."""
    server = Gb26875Server(Recorder(), clock=lambda: EXAMPLE_TIME)
    port = await server.start("127.0.0.1", 0)
    yield server, port
    await server.stop()


async def wait_for_ack(reader: asyncio.StreamReader, ack: bytes) -> None:
    """Read acks until the one expected arrives."""
    async with asyncio.timeout(5):
        while await reader.readexactly(len(ack)) != ack:
            pass


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_server_survives_a_fuzzed_connection(
    server: tuple[Gb26875Server, int], seed: int
) -> None:
    """Acknowledge a good frame after hundreds of bad chunks, on that connection and a new one."""
    gb26875, port = server
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(300):
        writer.write(random_chunk(rng))
        await writer.drain()
    good = device_frame(0xBEEF, data=b"")
    writer.write(good)
    await writer.drain()
    await wait_for_ack(reader, ack_of(good))
    other_reader, other_writer = await asyncio.open_connection("127.0.0.1", port)
    good = device_frame(0xCAFE, data=b"")
    other_writer.write(good)
    await other_writer.drain()
    await wait_for_ack(other_reader, ack_of(good))
    assert gb26875.stats.problems
    assert gb26875.stats.open_connections == 2
    for stream in (writer, other_writer):
        stream.close()
        await stream.wait_closed()


def test_mutate_edits() -> None:
    """Flip, insert and delete: the fuzzer's edits do what they say."""
    rng = random.Random(7)
    lengths = {len(mutate(EXAMPLE_ACK, rng, 1)) for _ in range(200)}
    assert lengths == {29, 30, 31}
    assert len(mutate(b"", rng, 1)) <= 1
