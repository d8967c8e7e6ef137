"""Test the GB/T 26875.3 frame codec against a known-good frame and its ack."""

from dataclasses import FrozenInstanceError, replace
from datetime import datetime

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.smart_community.protocols.gb26875 import (
    HEADER_LENGTH,
    MIN_FRAME_LENGTH,
    Action,
    ChecksumMismatchError,
    ChecksumMode,
    Frame,
    Gb26875Error,
    MalformedFrameError,
    ack_for,
    checksum,
    decode_frame,
    decode_frame_unchecked,
    encode_frame,
    format_address,
    parse_address,
    verify_checksum,
)
from custom_components.smart_community.protocols.gb26875.frame import (
    MAX_ADDRESS,
    decode_time,
    encode_time,
)

# A smoke detector (component type 40) of system 1 reports a fire, in normal
# operation, as "3号楼2层走廊烟感": protocols.md §3.2, checksum 0x38.
EXAMPLE_FRAME = bytes.fromhex(
    "4040 0100 0101 001e0801051a 010000000000 000000000000 3000 02"
    "0201 01 01 28 02010000 0300"
    "33bac5c2a532b2e3d7dfc0c8d1ccb8d0" + "00" * 15 + "001e0801051a"
    "38 2323"
)
# The centre's ack of it, sent at the same minute: checksum 0x4D.
EXAMPLE_ACK = bytes.fromhex(
    "4040 0100 0101 001e0801051a 000000000000 010000000000 0000 03 4d 2323"
)
EXAMPLE_TIME = datetime(2026, 5, 1, 8, 30)
EXAMPLE_DATA = EXAMPLE_FRAME[HEADER_LENGTH:-3]


def frame(**changes: object) -> Frame:
    """Return a frame like the example's, with some fields changed."""
    base = Frame(
        serial=1,
        version=(1, 1),
        time=EXAMPLE_TIME,
        source=1,
        destination=0,
        action=Action.SEND_DATA,
        data=EXAMPLE_DATA,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# ---- the known-good example ----


def test_example_frame_decodes() -> None:
    """Read every header field of the example frame."""
    decoded = decode_frame(EXAMPLE_FRAME)
    assert decoded == frame()
    assert decoded.version == (1, 1)
    assert decoded.action == Action.SEND_DATA
    assert len(decoded.data) == 48
    assert EXAMPLE_FRAME[-3] == 0x38


def test_example_frame_encodes_byte_for_byte() -> None:
    """Encode the decoded example back into exactly its bytes."""
    assert encode_frame(decode_frame(EXAMPLE_FRAME)) == EXAMPLE_FRAME
    assert encode_frame(frame(), ChecksumMode.SUM) == EXAMPLE_FRAME


def test_example_ack_byte_for_byte() -> None:
    """Build the example's ack: swapped addresses, action 3, no data, 0x4D."""
    ack = ack_for(decode_frame(EXAMPLE_FRAME), EXAMPLE_TIME)
    assert ack == Frame(1, (1, 1), EXAMPLE_TIME, 0, 1, Action.ACK, b"")
    assert encode_frame(ack) == EXAMPLE_ACK
    assert decode_frame(EXAMPLE_ACK) == ack


def test_ack_keeps_serial_and_version_and_drops_microseconds() -> None:
    """Answer with the frame's serial and version, at the given time to the second."""
    original = frame(
        serial=0xBEEF, version=(2, 7), source=0xA1B2C3D4E5F6, destination=9
    )
    ack = ack_for(original, datetime(2026, 5, 1, 8, 30, 5, 999_999))
    assert (ack.serial, ack.version) == (0xBEEF, (2, 7))
    assert (ack.source, ack.destination) == (9, 0xA1B2C3D4E5F6)
    assert ack.time == datetime(2026, 5, 1, 8, 30, 5)
    assert ack.data == b""
    assert decode_frame(encode_frame(ack)) == ack


def test_frame_is_frozen() -> None:
    """Refuse changes to a decoded frame."""
    decoded = decode_frame(EXAMPLE_FRAME)
    with pytest.raises(FrozenInstanceError):
        decoded.serial = 2  # type: ignore[misc]


# ---- checksums ----


def test_checksum_modes() -> None:
    """Sum the body modulo 256, or XOR it."""
    body = bytes((0xFF, 0x01, 0x10))
    assert checksum(body, ChecksumMode.SUM) == 0x10
    assert checksum(body, ChecksumMode.XOR) == 0xFF ^ 0x01 ^ 0x10
    assert checksum(b"", ChecksumMode.SUM) == checksum(b"", ChecksumMode.XOR) == 0
    assert checksum(EXAMPLE_FRAME[2:-3], ChecksumMode.SUM) == 0x38


def test_xor_mode_round_trip() -> None:
    """Encode and decode in XOR mode; the other mode refuses the frame."""
    raw = encode_frame(frame(), ChecksumMode.XOR)
    assert raw[:-3] == EXAMPLE_FRAME[:-3]
    xor = checksum(EXAMPLE_FRAME[2:-3], ChecksumMode.XOR)
    assert raw[-3] == xor != 0x38
    assert decode_frame(raw, ChecksumMode.XOR) == frame()
    with pytest.raises(ChecksumMismatchError) as caught:
        decode_frame(raw)
    assert (caught.value.expected, caught.value.found) == (0x38, xor)
    with pytest.raises(ChecksumMismatchError):
        decode_frame(EXAMPLE_FRAME, ChecksumMode.XOR)


def test_bad_checksum_names_expected_and_found() -> None:
    """Report the computed and the received checksum, as numbers and in the message."""
    raw = EXAMPLE_FRAME[:-3] + b"\x39##"
    with pytest.raises(ChecksumMismatchError) as caught:
        decode_frame(raw)
    assert caught.value.expected == 0x38
    assert caught.value.found == 0x39
    assert "0x39" in str(caught.value)
    assert "0x38" in str(caught.value)
    assert isinstance(caught.value, MalformedFrameError)
    assert isinstance(caught.value, Gb26875Error)
    # Without the check the frame still decodes, with the byte it carries.
    assert decode_frame_unchecked(raw) == (frame(), 0x39)
    verify_checksum(EXAMPLE_FRAME, ChecksumMode.SUM)


# ---- malformed frames ----


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "shortest frame"),
        (EXAMPLE_ACK[:-1], "shortest frame"),
        (b"##" + EXAMPLE_ACK[2:], "start mark"),
        (b"@#" + EXAMPLE_FRAME[2:], "start mark"),
        (EXAMPLE_FRAME[:-4] + EXAMPLE_FRAME[-3:], "length field"),
        (EXAMPLE_FRAME[:-3] + b"\x00" + EXAMPLE_FRAME[-3:], "length field"),
        (EXAMPLE_ACK + b"@@", "length field"),
        (EXAMPLE_FRAME[:-2] + b"#@", "end mark"),
        (EXAMPLE_ACK[:-2] + b"\r\n", "end mark"),
    ],
    ids=[
        "empty",
        "one-short",
        "start-hash",
        "start-half",
        "data-shorter",
        "data-longer",
        "trailing-bytes",
        "end-half",
        "end-crlf",
    ],
)
def test_malformed_frames(raw: bytes, field: str) -> None:
    """Refuse frames that break the layout, naming the field at fault."""
    with pytest.raises(MalformedFrameError, match=field) as caught:
        decode_frame(raw)
    assert not isinstance(caught.value, ChecksumMismatchError)
    with pytest.raises(MalformedFrameError, match=field):
        decode_frame_unchecked(raw)


def test_length_mismatch_message() -> None:
    """Say what the length field claims and what the frame holds."""
    raw = EXAMPLE_FRAME[:-4] + EXAMPLE_FRAME[-3:]
    with pytest.raises(MalformedFrameError) as caught:
        decode_frame(raw)
    assert "48 bytes" in str(caught.value)
    assert "holds 47" in str(caught.value)


# ---- times ----


@pytest.mark.parametrize(
    "time_bytes",
    [
        bytes(6),
        bytes((0, 0, 0, 1, 13, 26)),  # month 13
        bytes((0, 0, 0, 30, 2, 26)),  # 30 February
        bytes((60, 0, 0, 1, 1, 26)),  # second 60
        bytes((0, 0, 24, 1, 1, 26)),  # hour 24
        bytes((0xFF,) * 6),
    ],
)
def test_bad_time_decodes_as_none(time_bytes: bytes) -> None:
    """Give None for time bytes that are no date; the frame is still good."""
    raw = encode_frame(frame(time=None))
    raw = raw[:6] + time_bytes + raw[12:]
    raw = raw[:-3] + bytes((checksum(raw[2:-3], ChecksumMode.SUM),)) + b"##"
    assert decode_frame(raw).time is None
    assert decode_time(time_bytes) is None


def test_time_bytes() -> None:
    """Write second, minute, hour, day, month, year - 2000; None as zeros."""
    assert encode_time(datetime(2026, 5, 1, 8, 30, 7)) == bytes((7, 30, 8, 1, 5, 26))
    assert encode_time(None) == bytes(6)
    assert encode_frame(frame(time=None))[6:12] == bytes(6)
    assert decode_time(bytes((59, 59, 23, 31, 12, 255))) == datetime(
        2255, 12, 31, 23, 59, 59
    )
    assert decode_time(bytes((0, 0, 0, 1, 1, 0))) == datetime(2000, 1, 1)


# ---- encoding limits ----


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"serial": 0x10000}, "serial"),
        ({"serial": -1}, "serial"),
        ({"version": (256, 1)}, "version major"),
        ({"version": (1, -1)}, "version minor"),
        ({"source": MAX_ADDRESS + 1}, "source"),
        ({"destination": -1}, "destination"),
        ({"action": 256}, "action"),
        ({"data": bytes(0x10000)}, "application data length"),
        ({"time": datetime(1999, 12, 31)}, "years 2000 to 2255"),
        ({"time": datetime(2256, 1, 1)}, "years 2000 to 2255"),
    ],
)
def test_encode_refuses_fields_that_do_not_fit(
    changes: dict[str, object], name: str
) -> None:
    """Raise ValueError, naming the field, for values their bytes cannot hold."""
    with pytest.raises(ValueError, match=name):
        encode_frame(frame(**changes))


def test_encode_extremes() -> None:
    """Encode the largest values each field holds."""
    big = frame(
        serial=0xFFFF,
        version=(255, 255),
        source=MAX_ADDRESS,
        destination=MAX_ADDRESS,
        action=255,
        data=bytes(range(256)) * 4,
    )
    raw = encode_frame(big)
    assert len(raw) == MIN_FRAME_LENGTH + 1024
    assert decode_frame(raw) == big


# ---- addresses ----


@pytest.mark.parametrize(
    ("address", "text"),
    [
        (0, "000000000000"),
        (1, "000000000001"),
        (0xA1B2C3D4E5F6, "A1B2C3D4E5F6"),
        (MAX_ADDRESS, "FFFFFFFFFFFF"),
    ],
)
def test_format_and_parse_address(address: int, text: str) -> None:
    """Write 12 uppercase hex digits and read them back."""
    assert format_address(address) == text
    assert parse_address(text) == address
    assert parse_address(text.lower()) == address


def test_address_is_little_endian_on_the_wire() -> None:
    """Put the least significant address byte first."""
    raw = encode_frame(frame(source=0x0102030405AB, destination=0xA1B2C3D4E5F6))
    assert raw[12:18] == bytes.fromhex("ab0504030201")
    assert raw[18:24] == bytes.fromhex("f6e5d4c3b2a1")


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("1", 1),
        ("a1:b2:c3:d4:e5:f6", 0xA1B2C3D4E5F6),
        ("A1-B2-C3-D4-E5-F6", 0xA1B2C3D4E5F6),
        (" 0000 0000 0001 ", 1),
        ("00000000002a", 42),
    ],
)
def test_parse_address_separators(text: str, address: int) -> None:
    """Ignore spaces, colons and dashes between the digits."""
    assert parse_address(text) == address


@pytest.mark.parametrize(
    "text", ["", "  ", "0x1", "1234567890123", "g1", "1_000", "١٢", "+1", "-"]
)
def test_parse_address_refuses(text: str) -> None:
    """Refuse text that is not 1 to 12 hex digits."""
    with pytest.raises(ValueError, match="1 to 12 hex digits"):
        parse_address(text)


@pytest.mark.parametrize("address", [-1, MAX_ADDRESS + 1])
def test_format_address_refuses(address: int) -> None:
    """Refuse a number that is no 6-byte address."""
    with pytest.raises(ValueError, match="address"):
        format_address(address)


# ---- round trips ----

frames = st.builds(
    Frame,
    serial=st.integers(0, 0xFFFF),
    version=st.tuples(st.integers(0, 255), st.integers(0, 255)),
    time=st.none()
    | st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2255, 12, 31)
    ).map(lambda moment: moment.replace(microsecond=0)),
    source=st.integers(0, MAX_ADDRESS),
    destination=st.integers(0, MAX_ADDRESS),
    action=st.integers(0, 255),
    data=st.binary(max_size=300),
)


@settings(max_examples=200, deadline=None, database=None)
@given(frames, st.sampled_from(ChecksumMode))
def test_round_trip(original: Frame, mode: ChecksumMode) -> None:
    """Decode what was encoded, in either checksum mode."""
    raw = encode_frame(original, mode)
    assert len(raw) == MIN_FRAME_LENGTH + len(original.data)
    assert decode_frame(raw, mode) == original
    assert format_address(original.source) == f"{original.source:012X}"
    assert parse_address(format_address(original.source)) == original.source
