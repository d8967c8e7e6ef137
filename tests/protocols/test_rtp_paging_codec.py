"""Test G.711 coding, gain, the chime and transcoding of media files and URLs."""

import asyncio
from bisect import bisect_right
from collections.abc import AsyncIterator
import errno
import io
import math
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
import av
import numpy as np
import numpy.typing as npt
import pytest

from custom_components.smart_community.protocols.rtp_paging import (
    FRAME_SAMPLES,
    G711,
    SAMPLE_RATE,
    MediaUnavailableError,
    PagingError,
    UnsupportedMediaError,
    apply_gain,
    chime,
    codec as codec_module,
    decode_pcm16,
    decode_samples,
    encode_pcm16,
    encode_samples,
    gain_table,
    silence,
    transcode,
)

from .rtp_paging_support import dominant_frequency, encode_media, sine

ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)

# ITU-T G.711 Table 2a (μ-law), on the 14-bit scale: each segment's first
# decision value, step and code of its first interval (after the sign bit).
ULAW_SEGMENTS = [
    (1, 2),
    (31, 4),
    (95, 8),
    (223, 16),
    (479, 32),
    (991, 64),
    (2015, 128),
    (4063, 256),
]
# Table 1a (A-law), on the 13-bit scale.
ALAW_SEGMENTS = [
    (0, 2),
    (32, 2),
    (64, 4),
    (128, 8),
    (256, 16),
    (512, 32),
    (1024, 64),
    (2048, 128),
]


def ulaw_reference_code(value: int) -> int:
    """Return the μ-law code of a sample (sign-magnitude, all bits inverted)."""
    negative = value < 0
    magnitude = min(abs(value), 32635) / 4
    # Table 2a: 0 is its own interval, then 15 steps of 2 up to 31, then 16 per segment.
    if magnitude < 1:
        segment, mantissa = 0, 0
    elif magnitude < 31:
        segment, mantissa = 0, int((magnitude - 1) // 2) + 1
    else:
        segment = bisect_right([low for low, _ in ULAW_SEGMENTS[1:]], magnitude)
        low, step = ULAW_SEGMENTS[segment]
        mantissa = int((magnitude - low) // step)
    return ~((0x80 if negative else 0) | segment << 4 | mantissa) & 0xFF


def alaw_reference_code(value: int) -> int:
    """Return the A-law code of a sample by the decision values of Table 1a."""
    # Negative samples are mirrored around -0.5, so -1 pairs with 0.
    magnitude = (value if value >= 0 else -value - 1) / 8
    segment = bisect_right([low for low, _ in ALAW_SEGMENTS], magnitude) - 1
    low, step = ALAW_SEGMENTS[segment]
    mantissa = int((magnitude - low) // step)
    return ((0x80 if value >= 0 else 0) | segment << 4 | mantissa) ^ 0x55


def ffmpeg_encode(samples: npt.NDArray[np.int16], codec: G711) -> bytes:
    """Encode with PyAV's pcm_mulaw or pcm_alaw encoder."""
    name = "pcm_mulaw" if codec is G711.PCMU else "pcm_alaw"
    context = av.CodecContext.create(name, "w")
    assert isinstance(context, av.AudioCodecContext)
    context.sample_rate = SAMPLE_RATE
    context.layout = "mono"
    context.format = "s16"
    frame = av.AudioFrame.from_ndarray(
        samples.reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = SAMPLE_RATE
    return b"".join(bytes(packet) for packet in context.encode(frame))


def ffmpeg_decode(data: bytes, codec: G711) -> npt.NDArray[np.int16]:
    """Decode with PyAV's pcm_mulaw or pcm_alaw decoder."""
    name = "pcm_mulaw" if codec is G711.PCMU else "pcm_alaw"
    context = av.CodecContext.create(name, "r")
    assert isinstance(context, av.AudioCodecContext)
    context.sample_rate = SAMPLE_RATE
    context.layout = "mono"
    frames = context.decode(av.Packet(data))
    return np.concatenate([frame.to_ndarray().reshape(-1) for frame in frames])


def level_index(codes: npt.NDArray[np.uint8], codec: G711) -> npt.NDArray[np.int64]:
    """Rank codes by the value they decode to, to compare quantisation levels."""
    order = np.argsort(decode_samples(bytes(range(256)), codec), kind="stable")
    rank = np.empty(256, dtype=np.int64)
    rank[order] = np.arange(256)
    return rank[codes]


def as_samples(data: bytes, codec: G711) -> npt.NDArray[np.int16]:
    """Decode G.711 bytes for checks."""
    return decode_samples(data, codec)


# ---- the G.711 laws ----


def test_codec_names_payload_types_and_silence() -> None:
    """Give the RTP names, static payload types and silence codes."""
    assert G711("PCMU") is G711.PCMU
    assert (G711.PCMU.payload_type, G711.PCMA.payload_type) == (0, 8)
    assert (G711.PCMU.silence, G711.PCMA.silence) == (0xFF, 0xD5)
    assert (SAMPLE_RATE, FRAME_SAMPLES) == (8000, 160)


@pytest.mark.parametrize(
    ("codec", "value", "code"),
    [
        (G711.PCMU, 0, 0xFF),
        (G711.PCMU, -1, 0x7F),
        (G711.PCMU, 32767, 0x80),
        (G711.PCMU, -32768, 0x00),
        (G711.PCMU, 1000, 0xCE),
        (G711.PCMU, -1000, 0x4E),
        (G711.PCMA, 0, 0xD5),
        (G711.PCMA, -1, 0x55),
        (G711.PCMA, 32767, 0xAA),
        (G711.PCMA, -32768, 0x2A),
        (G711.PCMA, 1000, 0xFA),
        (G711.PCMA, -1000, 0x7A),
    ],
)
def test_encoder_reference_values(codec: G711, value: int, code: int) -> None:
    """Encode the standard's landmarks: zero, the extremes, a mid value."""
    assert encode_samples(np.array([value]), codec) == bytes([code])


@pytest.mark.parametrize(
    ("codec", "code", "value"),
    [
        (G711.PCMU, 0xFF, 0),
        (G711.PCMU, 0x7F, 0),
        (G711.PCMU, 0x80, 32124),  # 8031 on the 14-bit scale
        (G711.PCMU, 0x00, -32124),
        (G711.PCMU, 0xFE, 8),  # 2 on the 14-bit scale
        (G711.PCMA, 0xD5, 8),  # 1 on the 13-bit scale
        (G711.PCMA, 0x55, -8),
        (G711.PCMA, 0xAA, 32256),  # 4032 on the 13-bit scale
        (G711.PCMA, 0x2A, -32256),
    ],
)
def test_decoder_reference_values(codec: G711, code: int, value: int) -> None:
    """Decode to the standard's output values, scaled to 16 bits."""
    assert decode_samples(bytes([code]), codec).tolist() == [value]


@pytest.mark.parametrize(
    ("codec", "reference"),
    [(G711.PCMU, ulaw_reference_code), (G711.PCMA, alaw_reference_code)],
)
def test_encoder_follows_the_decision_tables(codec: G711, reference: object) -> None:
    """Encode all 65,536 samples as the standard's decision values say."""
    assert callable(reference)
    expected = bytes(reference(int(value)) for value in ALL_INT16)
    assert encode_samples(ALL_INT16, codec) == expected


@pytest.mark.parametrize("codec", list(G711))
def test_decoder_matches_ffmpeg(codec: G711) -> None:
    """Decode all 256 codes exactly as FFmpeg's decoder does."""
    codes = bytes(range(256))
    assert decode_samples(codes, codec).tolist() == ffmpeg_decode(codes, codec).tolist()


@pytest.mark.parametrize("codec", list(G711))
def test_encoder_agrees_with_ffmpeg_but_for_boundaries(codec: G711) -> None:
    """Differ from FFmpeg's encoder only at decision boundaries, by one level.

    FFmpeg rounds to the nearest output value and floors negative samples to
    the 14/13-bit scale; the standard's decision values sit a hair away.
    """
    mine = np.frombuffer(encode_samples(ALL_INT16, codec), dtype=np.uint8)
    theirs = np.frombuffer(ffmpeg_encode(ALL_INT16, codec), dtype=np.uint8)
    steps = np.abs(level_index(mine, codec) - level_index(theirs, codec))
    assert steps.max() <= 1
    assert np.count_nonzero(steps) < 0.02 * len(ALL_INT16)


@pytest.mark.parametrize("codec", list(G711))
def test_round_trip_through_ffmpeg_decoder(codec: G711) -> None:
    """Come back within half a quantisation step, and keep a sine's SNR."""
    encoded = encode_samples(ALL_INT16, codec)
    decoded = ffmpeg_decode(encoded, codec).astype(np.int64)
    error = np.abs(decoded - ALL_INT16)
    # The step grows with the magnitude: at most 1/16 of the value plus the
    # first segment's step, and the top of the range clips at 32124/32256.
    inside = np.abs(ALL_INT16.astype(np.int64)) < 32000
    assert np.all(error[inside] <= np.abs(ALL_INT16[inside]) / 16 + 16)
    wave = sine(1013, 0.5, SAMPLE_RATE, amplitude=0.5)
    back = ffmpeg_decode(encode_samples(wave, codec), codec).astype(np.float64)
    noise = back - wave
    snr = 10 * math.log10(np.sum(wave.astype(np.float64) ** 2) / np.sum(noise**2))
    assert snr > 30  # G.711 gives about 35 dB at this level


@pytest.mark.parametrize("codec", list(G711))
def test_codes_survive_decode_and_encode(codec: G711) -> None:
    """Encode each decoded code back to itself (μ-law's -0 becomes +0)."""
    again = encode_samples(decode_samples(bytes(range(256)), codec), codec)
    expected = bytearray(range(256))
    if codec is G711.PCMU:
        expected[0x7F] = 0xFF
    assert again == bytes(expected)


def test_pcm16_helpers() -> None:
    """Go to and from little-endian 16-bit PCM."""
    pcm = np.array([0, 1000, -1000, 32767], dtype="<i2").tobytes()
    encoded = encode_pcm16(pcm, G711.PCMU)
    assert encoded == bytes([0xFF, 0xCE, 0x4E, 0x80])
    assert np.frombuffer(decode_pcm16(encoded, G711.PCMU), dtype="<i2").tolist() == [
        0,
        988,
        -988,
        32124,
    ]
    with pytest.raises(ValueError, match="even number"):
        encode_pcm16(b"\x00", G711.PCMU)


def test_decode_table_is_read_only() -> None:
    """Share the decode table without letting anyone change it."""
    table = codec_module.decode_table(G711.PCMA)
    with pytest.raises(ValueError, match="read-only"):
        table[0] = 1


# ---- gain, silence, chime ----


@pytest.mark.parametrize("codec", list(G711))
def test_gain_of_six_db_doubles_the_amplitude(codec: G711) -> None:
    """Double the samples at +6.02 dB and halve them at -6.02 dB."""
    wave = sine(440, 0.2, SAMPLE_RATE, amplitude=0.2)
    audio = encode_samples(wave, codec)
    louder = as_samples(apply_gain(audio, codec, 20 * math.log10(2)), codec)
    quieter = as_samples(apply_gain(audio, codec, -20 * math.log10(2)), codec)
    reference = as_samples(audio, codec).astype(np.float64)
    assert np.max(np.abs(louder)) == pytest.approx(
        2 * np.max(np.abs(reference)), rel=0.04
    )
    assert np.max(np.abs(quieter)) == pytest.approx(
        np.max(np.abs(reference)) / 2, rel=0.04
    )
    assert np.corrcoef(louder, reference)[0, 1] > 0.999


@pytest.mark.parametrize("codec", list(G711))
def test_gain_saturates_instead_of_wrapping(codec: G711) -> None:
    """Clip a loud sine at the top code and keep every sample's sign."""
    wave = sine(440, 0.2, SAMPLE_RATE, amplitude=0.8)
    audio = encode_samples(wave, codec)
    louder = as_samples(apply_gain(audio, codec, 12), codec)
    top = int(decode_samples(bytes([0x80 if codec is G711.PCMU else 0xAA]), codec)[0])
    assert louder.max() == top
    assert louder.min() == -top
    original = as_samples(audio, codec)
    assert np.all(np.sign(louder[original != 0]) == np.sign(original[original != 0]))
    assert np.count_nonzero(louder == top) > 0.2 * len(louder) / 2


def test_gain_table_identity_and_errors() -> None:
    """Leave audio alone at 0 dB, and refuse a gain that is not finite."""
    assert gain_table(G711.PCMU, 0.0) == bytes(range(256))
    audio = bytes(range(256))
    assert apply_gain(audio, G711.PCMA, 0.0) is audio
    assert len(gain_table(G711.PCMA, -3.0)) == 256
    with pytest.raises(ValueError, match="finite"):
        gain_table(G711.PCMU, math.inf)
    with pytest.raises(ValueError, match="finite"):
        apply_gain(audio, G711.PCMU, math.nan)


@pytest.mark.parametrize("codec", list(G711))
def test_silence(codec: G711) -> None:
    """Fill whole samples with the codec's silence code."""
    assert silence(codec, 0.5) == bytes([codec.silence]) * 4000
    assert silence(codec, 0) == b""
    with pytest.raises(ValueError, match="zero or more"):
        silence(codec, -1)
    with pytest.raises(ValueError, match="zero or more"):
        silence(codec, math.inf)


@pytest.mark.parametrize("codec", list(G711))
def test_chime_is_a_faded_ding_dong(codec: G711) -> None:
    """Ring E5 then C5 for 1.2 s, fading in and out, peaking near -6 dBFS."""
    audio = chime(codec)
    assert chime(codec) is audio
    assert len(audio) == round(1.2 * SAMPLE_RATE)
    samples = as_samples(audio, codec).astype(np.float64)
    assert np.max(np.abs(samples)) == pytest.approx(0.5 * 32767, rel=0.05)
    assert np.max(np.abs(samples[:8])) < 0.05 * 32767
    assert np.max(np.abs(samples[-40:])) < 0.01 * 32767
    ding = dominant_frequency(samples[: int(0.4 * SAMPLE_RATE)], SAMPLE_RATE)
    dong = dominant_frequency(samples[int(0.5 * SAMPLE_RATE) :], SAMPLE_RATE)
    assert ding == pytest.approx(659.25, abs=5)
    assert dong == pytest.approx(523.25, abs=5)


# ---- transcoding files ----


def check_tone(audio: bytes, codec: G711, seconds: float, amplitude: float) -> None:
    """Check the length, pitch and level of a transcoded 440 Hz tone."""
    assert abs(len(audio) - seconds * SAMPLE_RATE) <= FRAME_SAMPLES
    samples = as_samples(audio, codec)
    assert dominant_frequency(samples, SAMPLE_RATE) == pytest.approx(440, abs=3)
    middle = samples[len(samples) // 4 : 3 * len(samples) // 4]
    assert np.max(np.abs(middle)) == pytest.approx(amplitude * 32767, rel=0.05)


@pytest.mark.parametrize("codec", list(G711))
def test_transcode_stereo_wav_at_16_khz(codec: G711) -> None:
    """Resample, downmix and encode a 1 s stereo WAV to 8,000 samples."""
    wav = encode_media(sine(440, 1.0, 16000), 16000, channels=2)
    check_tone(transcode(wav, codec), codec, 1.0, 0.5)


@pytest.mark.parametrize(
    ("container", "encoder", "rate"),
    [("mp3", "libmp3lame", 22050), ("ogg", "libopus", 48000), ("flac", "flac", 44100)],
)
def test_transcode_compressed_files(
    tmp_path: Path, container: str, encoder: str, rate: int
) -> None:
    """Decode MP3, Ogg Opus and FLAC, from bytes and from a local path."""
    media = encode_media(
        sine(440, 0.5, rate, amplitude=0.4), rate, container=container, codec=encoder
    )
    from_bytes = transcode(media, G711.PCMA)
    check_tone(from_bytes, G711.PCMA, 0.5, 0.4)
    path = tmp_path / f"tone.{container}"
    path.write_bytes(media)
    assert transcode(str(path), G711.PCMA) == from_bytes


def test_transcode_applies_gain_with_saturation() -> None:
    """Double the level at +6 dB and clip, rather than wrap, beyond full scale."""
    wav = encode_media(sine(440, 0.5, 8000, amplitude=0.3), 8000)
    check_tone(
        transcode(wav, G711.PCMU, gain_db=20 * math.log10(2)), G711.PCMU, 0.5, 0.6
    )
    clipped = as_samples(transcode(wav, G711.PCMU, gain_db=20), G711.PCMU)
    assert clipped.max() == 32124
    assert clipped.min() == -32124
    with pytest.raises(ValueError, match="finite"):
        transcode(wav, G711.PCMU, gain_db=math.nan)


def test_transcode_refuses_long_media() -> None:
    """Raise PagingError, not a media error, past max_seconds."""
    wav = encode_media(sine(440, 1.0, 8000), 8000)
    with pytest.raises(PagingError, match=r"longer than 0\.5 s") as caught:
        transcode(wav, G711.PCMU, max_seconds=0.5)
    assert type(caught.value) is PagingError
    assert len(transcode(wav, G711.PCMU, max_seconds=1.0)) == 8000


def test_transcode_checks_its_limits() -> None:
    """Refuse a limit or a timeout that is not positive."""
    with pytest.raises(ValueError, match="max_seconds"):
        transcode(b"", G711.PCMU, max_seconds=0)
    with pytest.raises(ValueError, match="timeout"):
        transcode(b"", G711.PCMU, timeout=-1)


def test_transcode_missing_file(tmp_path: Path) -> None:
    """Report a missing file or a directory as unavailable."""
    with pytest.raises(MediaUnavailableError, match="no file"):
        transcode(str(tmp_path / "missing.mp3"), G711.PCMU)
    with pytest.raises(MediaUnavailableError, match="no file"):
        transcode(str(tmp_path), G711.PCMU)


def test_transcode_read_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Report an I/O error while reading a file as unavailable."""
    path = tmp_path / "tone.wav"
    path.write_bytes(encode_media(sine(440, 0.1, 8000), 8000))

    def broken_open(*args: object, **kwargs: object) -> None:
        raise av.error.OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(av, "open", broken_open)
    with pytest.raises(MediaUnavailableError, match="could not be read"):
        transcode(str(path), G711.PCMU)


@pytest.mark.parametrize(
    ("media", "message"),
    [
        (b"this is not audio at all " * 40, "cannot be decoded"),
        (b"", "cannot be decoded"),
    ],
)
def test_transcode_garbage(media: bytes, message: str) -> None:
    """Wrap PyAV's errors in UnsupportedMediaError."""
    with pytest.raises(UnsupportedMediaError, match=message) as caught:
        transcode(media, G711.PCMU)
    assert isinstance(caught.value.__cause__, av.error.FFmpegError)


def test_transcode_video_without_audio() -> None:
    """Say that a video file has no audio stream."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="nut") as output:
        stream = output.add_stream("ffv1", rate=5)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        frame = av.VideoFrame(16, 16, "yuv420p")
        for packet in stream.encode(frame):
            output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    with pytest.raises(
        UnsupportedMediaError, match=r"no audio stream \(streams: video\)"
    ):
        transcode(buffer.getvalue(), G711.PCMU)


def test_transcode_empty_audio_stream() -> None:
    """Say that an audio stream without samples holds none."""
    flac = encode_media(
        np.zeros(0, dtype=np.int16), 8000, container="flac", codec="flac"
    )
    with pytest.raises(UnsupportedMediaError, match="holds no samples"):
        transcode(flac, G711.PCMU)


def adts_frames(media: bytes) -> list[tuple[int, int]]:
    """Return the offset and length of each ADTS frame."""
    frames = []
    offset = 0
    while offset + 7 <= len(media):
        length = (
            ((media[offset + 3] & 3) << 11)
            | (media[offset + 4] << 3)
            | (media[offset + 5] >> 5)
        )
        frames.append((offset, length))
        offset += length
    return frames


def test_transcode_skips_damaged_packets() -> None:
    """Drop damaged AAC frames and keep the rest; fail when none is left."""
    media = encode_media(sine(440, 0.5, 22050), 22050, container="adts", codec="aac")
    frames = adts_frames(media)
    half = bytearray(media)
    every = bytearray(media)
    for index, (offset, length) in enumerate(frames):
        every[offset + 7 : offset + length] = b"\xff" * (length - 7)
        if index % 2:
            half[offset + 7 : offset + length] = b"\xff" * (length - 7)
    kept = transcode(bytes(half), G711.PCMU)
    assert 0 < len(kept) < 0.75 * 0.5 * SAMPLE_RATE
    with pytest.raises(
        UnsupportedMediaError, match=rf"\({len(frames)} damaged packets\)"
    ):
        transcode(bytes(every), G711.PCMU)


# ---- transcoding URLs ----


@pytest.fixture
async def media_server(socket_enabled: None) -> AsyncIterator[TestServer]:
    """Serve media over HTTP on 127.0.0.1, with a few failures on purpose."""
    wav = encode_media(sine(440, 0.5, 16000), 16000)

    async def tone(request: web.Request) -> web.Response:
        return web.Response(body=wav, content_type="audio/wav")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.Response(body=wav)

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = len(wav)
        await response.prepare(request)
        for start in range(0, len(wav), 2000):
            await response.write(wav[start : start + 2000])
            await asyncio.sleep(0.05)
        return response

    app = web.Application()
    app.router.add_get("/tone.wav", tone)
    app.router.add_get("/slow.wav", slow)
    app.router.add_get("/drip.wav", drip)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


def url(server: TestServer, path: str) -> str:
    """Return a URL on the media server."""
    return str(server.make_url(path))


async def run_transcode(source: str, **kwargs: float) -> bytes:
    """Transcode off the event loop, as Home Assistant does."""
    return await asyncio.to_thread(transcode, source, G711.PCMU, **kwargs)


async def test_transcode_url(media_server: TestServer) -> None:
    """Fetch and transcode media over HTTP."""
    audio = await run_transcode(url(media_server, "/tone.wav?token=secret"))
    check_tone(audio, G711.PCMU, 0.5, 0.5)


async def test_transcode_url_not_found(media_server: TestServer) -> None:
    """Report an HTTP error as unavailable, without the query string."""
    with pytest.raises(MediaUnavailableError, match="answered HTTP 404") as caught:
        await run_transcode(url(media_server, "/missing.mp3?authSig=secret"))
    assert "secret" not in str(caught.value)


async def test_transcode_url_timeout(media_server: TestServer) -> None:
    """Give up on a server that does not answer in time."""
    with pytest.raises(MediaUnavailableError, match=r"did not answer within 0\.2 s"):
        await run_transcode(url(media_server, "/slow.wav"), timeout=0.2)


async def test_transcode_url_overall_deadline(media_server: TestServer) -> None:
    """Give up on a body that trickles in for longer than the timeout in all."""
    with pytest.raises(MediaUnavailableError, match=r"took longer than 0\.2 s"):
        await run_transcode(url(media_server, "/drip.wav"), timeout=0.2)


async def test_transcode_url_too_large(
    media_server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refuse a body larger than the download limit."""
    monkeypatch.setattr(codec_module, "MAX_DOWNLOAD_BYTES", 1000)
    with pytest.raises(PagingError, match="larger than 1000 bytes"):
        await run_transcode(url(media_server, "/tone.wav"))


async def test_transcode_url_refused(socket_enabled: None) -> None:
    """Report a closed port as unreachable."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(MediaUnavailableError, match="is unreachable"):
        await run_transcode(f"http://127.0.0.1:{port}/tone.wav")


async def test_transcode_url_bad_http(socket_enabled: None) -> None:
    """Report a server that does not speak HTTP as unavailable."""

    async def babble(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readline()
        writer.write(b"HELLO THERE\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(babble, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(MediaUnavailableError, match="could not be read"):
            await run_transcode(f"http://127.0.0.1:{port}/tone.wav")
    finally:
        server.close()
        await server.wait_closed()
