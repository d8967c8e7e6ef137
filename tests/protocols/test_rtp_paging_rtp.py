"""Test RTP packetisation of G.711 audio and the header parser."""

import struct

import pytest

from custom_components.smart_community.protocols.rtp_paging import (
    FRAME_SAMPLES,
    G711,
    RtpHeader,
    RtpPacketizer,
    parse_rtp_header,
)


@pytest.mark.parametrize(("codec", "payload_type"), [(G711.PCMU, 0), (G711.PCMA, 8)])
def test_header_fields(codec: G711, payload_type: int) -> None:
    """Write V=2, no padding, extension or CSRC, the payload type and the marker."""
    packetizer = RtpPacketizer(codec, ssrc=0x12345678, sequence=100, timestamp=1000)
    first, second = packetizer.packets(bytes(range(160)) * 2)
    assert first[:12] == struct.pack(
        "!BBHII", 0x80, 0x80 | payload_type, 100, 1000, 0x12345678
    )
    assert second[:12] == struct.pack(
        "!BBHII", 0x80, payload_type, 101, 1160, 0x12345678
    )
    assert first[12:] == second[12:] == bytes(range(160))
    header = parse_rtp_header(first)
    assert header == RtpHeader(
        version=2,
        padding=False,
        extension=False,
        marker=True,
        payload_type=payload_type,
        sequence=100,
        timestamp=1000,
        ssrc=0x12345678,
        csrcs=(),
        header_length=12,
        payload_length=160,
    )


@pytest.mark.parametrize("codec", list(G711))
def test_last_packet_is_padded_with_silence(codec: G711) -> None:
    """Fill the last frame up to 160 samples with the codec's silence."""
    packetizer = RtpPacketizer(codec, ssrc=1, sequence=0, timestamp=0)
    packets = packetizer.packets(b"\x10" * 200)
    assert [len(packet) for packet in packets] == [172, 172]
    assert packets[1][12:] == b"\x10" * 40 + bytes([codec.silence]) * 120
    assert packetizer.packet(b"")[12:] == bytes([codec.silence]) * FRAME_SAMPLES


def test_marker_opens_each_call_and_numbers_go_on() -> None:
    """Set the marker on the first packet of each call; continue the counters."""
    packetizer = RtpPacketizer(G711.PCMU, ssrc=7, sequence=10, timestamp=500)
    first = packetizer.packets(b"\xff" * 480)
    second = packetizer.packets(b"\xff" * 160)
    headers = [parse_rtp_header(packet) for packet in first + second]
    assert [h.marker for h in headers] == [True, False, False, True]
    assert [h.sequence for h in headers] == [10, 11, 12, 13]
    assert [h.timestamp for h in headers] == [500, 660, 820, 980]
    assert {h.ssrc for h in headers} == {7}
    assert (packetizer.sequence, packetizer.timestamp, packetizer.ssrc) == (14, 1140, 7)


def test_sequence_and_timestamp_wrap_around() -> None:
    """Wrap the 16-bit sequence number and the 32-bit timestamp."""
    packetizer = RtpPacketizer(
        G711.PCMA, ssrc=1, sequence=0xFFFE, timestamp=0xFFFFFFFF - 159 - 160
    )
    headers = [parse_rtp_header(p) for p in packetizer.packets(b"\xd5" * 160 * 3)]
    assert [h.sequence for h in headers] == [0xFFFE, 0xFFFF, 0]
    assert [h.timestamp for h in headers] == [0xFFFFFFFF - 319, 0xFFFFFFFF - 159, 0]
    assert (packetizer.sequence, packetizer.timestamp) == (1, 160)


def test_empty_payload_makes_no_packets() -> None:
    """Send nothing for no audio, and leave the counters alone."""
    packetizer = RtpPacketizer(G711.PCMU, ssrc=1, sequence=5, timestamp=9)
    assert packetizer.packets(b"") == []
    assert (packetizer.sequence, packetizer.timestamp) == (5, 9)


def test_random_initial_values() -> None:
    """Draw SSRC, sequence and timestamp at random when not given (RFC 3550)."""
    streams = [RtpPacketizer(G711.PCMU) for _ in range(8)]
    assert len({stream.ssrc for stream in streams}) == 8
    assert len({stream.timestamp for stream in streams}) == 8
    assert all(0 <= stream.sequence < 1 << 16 for stream in streams)
    assert all(0 <= stream.timestamp < 1 << 32 for stream in streams)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ssrc": 1 << 32}, "SSRC must fit in 32 bits"),
        ({"ssrc": -1}, "SSRC must fit"),
        ({"sequence": 1 << 16}, "sequence number must fit in 16 bits"),
        ({"timestamp": -5}, "timestamp must fit in 32 bits"),
    ],
)
def test_initial_values_are_checked(kwargs: dict[str, int], message: str) -> None:
    """Refuse initial values that do not fit their field."""
    with pytest.raises(ValueError, match=message):
        RtpPacketizer(G711.PCMU, **kwargs)


def test_frame_longer_than_160_samples() -> None:
    """Refuse to put more than 20 ms in one packet."""
    with pytest.raises(ValueError, match="at most 160"):
        RtpPacketizer(G711.PCMU).packet(b"\xff" * 161)


def test_parse_csrcs_extension_and_padding() -> None:
    """Skip the CSRC list and the extension, and leave the padding out."""
    packet = (
        struct.pack("!BBHII", 0xB2, 0x08, 1, 2, 3)
        + struct.pack("!II", 10, 11)
        + struct.pack("!HH", 0xBEDE, 1)
        + b"\x00" * 4
        + b"\xd5" * 160
        + b"\x00\x00\x03"
    )
    header = parse_rtp_header(packet)
    assert header.padding
    assert header.extension
    assert header.csrcs == (10, 11)
    assert header.header_length == 12 + 8 + 8
    assert header.payload_length == 160
    assert not header.marker
    assert header.payload_type == 8


@pytest.mark.parametrize(
    ("packet", "message"),
    [
        (b"\x80\x00", "at least 12 bytes"),
        (struct.pack("!BBHII", 0x82, 0, 0, 0, 0) + b"\x00" * 4, "2 CSRCs"),
        (struct.pack("!BBHII", 0x90, 0, 0, 0, 0) + b"\x00\x00", "header extension"),
        (
            struct.pack("!BBHII", 0x90, 0, 0, 0, 0) + b"\xbe\xde\x00\x02" + b"\x00" * 4,
            "header extension",
        ),
        (struct.pack("!BBHII", 0xA0, 0, 0, 0, 0) + b"\x00\x05", "padding count"),
    ],
)
def test_parse_refuses_short_packets(packet: bytes, message: str) -> None:
    """Raise ValueError for packets shorter than their header says."""
    with pytest.raises(ValueError, match=message):
        parse_rtp_header(packet)
