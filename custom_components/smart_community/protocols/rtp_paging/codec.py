"""Turn media into G.711 audio for paging: decode, resample, gain, encode.

Paging speakers take 8 kHz mono G.711 (ITU-T G.711): μ-law (PCMU, RTP payload
type 0) or A-law (PCMA, payload type 8), one byte per sample. ``transcode``
decodes any file PyAV reads (mp3, wav, ogg, flac, m4a…), from bytes, a local
path or an http(s) URL, resamples it with PyAV's ``AudioResampler`` and
encodes it here, with numpy, by the segment rules of the standard. It blocks
(file and network I/O, decoding): run it in an executor.

The encoders take 16-bit linear samples, as most software does: μ-law uses
their 14 most significant bits and A-law their 13 most significant bits, the
standard's linear inputs. Per-zone volume needs no access to the media:
``gain_table`` maps each of the 256 codes to the code of the same sample after
the gain, for ``bytes.translate``.
"""

from enum import StrEnum
from functools import cache, lru_cache
import http.client
import io
import math
from pathlib import Path
import time
from typing import Final
import urllib.error
from urllib.parse import urlsplit, urlunsplit
import urllib.request

import av
import av.error
import numpy as np
import numpy.typing as npt

from .errors import MediaUnavailableError, PagingError, UnsupportedMediaError

SAMPLE_RATE: Final = 8000
FRAME_SAMPLES: Final = 160
FRAME_SECONDS: Final = FRAME_SAMPLES / SAMPLE_RATE

# A download larger than this is refused: ten minutes of 48 kHz stereo WAV
# come to 115 MB.
MAX_DOWNLOAD_BYTES: Final = 128 * 1024 * 1024
_READ_SIZE: Final = 64 * 1024
_USER_AGENT: Final = "smart-community-paging/1"
_INT16_MIN: Final = -32768
_INT16_MAX: Final = 32767
# μ-law: the bias that puts the segment boundaries on powers of two, and the
# largest magnitude that still fits the top segment once biased.
_ULAW_BIAS: Final = 0x84
_ULAW_CLIP: Final = 32635
# A-law codes travel with their even bits inverted.
_ALAW_XOR: Final = 0x55
# The segment of a value from its top byte (μ-law: bits 7-14 of the biased
# magnitude; A-law: bits 4-11 of the 12-bit magnitude), the position of the
# highest set bit.
_SEGMENT: Final = np.array(
    [max(value.bit_length() - 1, 0) for value in range(256)], dtype=np.int32
)

type Samples = npt.NDArray[np.int16]


class G711(StrEnum):
    """Name the two G.711 laws by their RTP encoding names."""

    PCMU = "PCMU"
    PCMA = "PCMA"

    @property
    def payload_type(self) -> int:
        """Return the static RTP payload type (RFC 3551): 0 for PCMU, 8 for PCMA."""
        return 0 if self is G711.PCMU else 8

    @property
    def silence(self) -> int:
        """Return the code of digital silence (a zero sample)."""
        return 0xFF if self is G711.PCMU else 0xD5


def encode_samples(samples: npt.NDArray[np.integer], codec: G711) -> bytes:
    """Encode 16-bit linear samples (any integer array) to G.711."""
    linear = np.clip(samples.astype(np.int32), _INT16_MIN, _INT16_MAX)
    code: npt.NDArray[np.int32]
    if codec is G711.PCMU:
        sign = np.where(linear < 0, 0x80, 0).astype(np.int32)
        magnitude = np.minimum(np.abs(linear), _ULAW_CLIP) + _ULAW_BIAS
        segment = _SEGMENT[magnitude >> 7]
        mantissa = (magnitude >> (segment + 3)) & 0x0F
        code = ~(sign | (segment << 4) | mantissa) & 0xFF
    else:
        value = linear >> 3
        sign = np.where(value >= 0, 0x80, 0).astype(np.int32)
        magnitude = np.where(value >= 0, value, ~value)
        segment = _SEGMENT[magnitude >> 4]
        mantissa = (magnitude >> np.maximum(segment, 1)) & 0x0F
        code = (sign | (segment << 4) | mantissa) ^ _ALAW_XOR
    return bytes(code.astype(np.uint8).data)


def encode_pcm16(pcm: bytes, codec: G711) -> bytes:
    """Encode signed 16-bit little-endian mono PCM to G.711."""
    if len(pcm) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    return encode_samples(np.frombuffer(pcm, dtype="<i2"), codec)


@cache
def decode_table(codec: G711) -> Samples:
    """Return the 16-bit linear value of each of the 256 codes (read-only)."""
    code = np.arange(256, dtype=np.int32)
    if codec is G711.PCMU:
        inverted = ~code & 0xFF
        segment = (inverted >> 4) & 0x07
        mantissa = inverted & 0x0F
        magnitude = (((mantissa << 3) + _ULAW_BIAS) << segment) - _ULAW_BIAS
        linear = np.where(inverted & 0x80, -magnitude, magnitude)
    else:
        plain = code ^ _ALAW_XOR
        segment = (plain >> 4) & 0x07
        mantissa = plain & 0x0F
        magnitude = np.where(
            segment == 0,
            (mantissa << 4) + 8,
            ((mantissa << 4) + 0x108) << np.maximum(segment - 1, 0),
        )
        linear = np.where(plain & 0x80, magnitude, -magnitude)
    table = linear.astype(np.int16)
    table.flags.writeable = False
    return table


def decode_samples(data: bytes, codec: G711) -> Samples:
    """Decode G.711 to 16-bit linear samples."""
    samples: Samples = decode_table(codec)[np.frombuffer(data, dtype=np.uint8)]
    return samples


def decode_pcm16(data: bytes, codec: G711) -> bytes:
    """Decode G.711 to signed 16-bit little-endian mono PCM."""
    return decode_samples(data, codec).astype("<i2").tobytes()


def _scale(samples: npt.NDArray[np.integer], gain_db: float) -> Samples:
    """Apply a gain in dB to 16-bit samples, saturating instead of wrapping."""
    factor = 10.0 ** (gain_db / 20.0)
    scaled = np.clip(np.rint(samples * factor), _INT16_MIN, _INT16_MAX)
    result: Samples = scaled.astype(np.int16)
    return result


def _check_gain(gain_db: float) -> None:
    """Refuse a gain that is not a finite number."""
    if not math.isfinite(gain_db):
        raise ValueError(f"The gain must be a finite number of dB, not {gain_db}")


@lru_cache(maxsize=64)
def gain_table(codec: G711, gain_db: float) -> bytes:
    """Return the ``bytes.translate`` table that applies a gain to G.711 codes.

    Each code is decoded, scaled and clipped to 16 bits, and encoded again. At
    0 dB the table is the identity.
    """
    _check_gain(gain_db)
    if gain_db == 0:
        return bytes(range(256))
    return encode_samples(_scale(decode_table(codec), gain_db), codec)


def apply_gain(data: bytes, codec: G711, gain_db: float) -> bytes:
    """Change the volume of G.711 audio by ``gain_db`` (clipped, no wraparound)."""
    if gain_db == 0:
        _check_gain(gain_db)
        return data
    return data.translate(gain_table(codec, gain_db))


def silence(codec: G711, seconds: float) -> bytes:
    """Return ``seconds`` of digital silence, rounded to whole samples."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"The length must be zero or more seconds, not {seconds}")
    return bytes((codec.silence,)) * round(seconds * SAMPLE_RATE)


@cache
def _chime_samples() -> Samples:
    """Synthesise the ding-dong once, as 16-bit samples."""
    total = round(1.2 * SAMPLE_RATE)
    t = np.arange(total) / SAMPLE_RATE
    signal = np.zeros(total)
    # E5 then C5, a major third down: the classic two-tone door chime. A few
    # harmonics and an exponential decay make each tone ring like a struck bar.
    for start, frequency in ((0.0, 659.25), (0.42, 523.25)):
        since = t - start
        sounding = since >= 0
        envelope = np.where(
            sounding,
            np.minimum(since / 0.004, 1.0) * np.exp(-np.maximum(since, 0) / 0.32),
            0.0,
        )
        tone = sum(
            level * np.sin(2 * np.pi * frequency * harmonic * since)
            for harmonic, level in ((1, 1.0), (2, 0.28), (3, 0.09))
        )
        signal += envelope * tone
    fade_in = np.minimum(t / 0.01, 1.0)
    fade_out = np.clip((t[-1] - t) / 0.2, 0.0, 1.0)
    signal *= fade_in * (0.5 - 0.5 * np.cos(np.pi * fade_out))
    # Peak at -6 dBFS: loud enough to be heard, headroom for zone gain.
    signal *= 0.5 * _INT16_MAX / np.max(np.abs(signal))
    samples = np.rint(signal).astype(np.int16)
    samples.flags.writeable = False
    return samples


@cache
def chime(codec: G711) -> bytes:
    """Return a 1.2 s two-tone ding-dong chime, faded in and out."""
    return encode_samples(_chime_samples(), codec)


def _is_url(source: str) -> bool:
    """Tell an http(s) URL from a local path."""
    return urlsplit(source).scheme.lower() in {"http", "https"}


def _shown(url: str) -> str:
    """Return a URL without its query and fragment, which may carry tokens."""
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", "")
    )


def _download(url: str, timeout: float) -> bytes:
    """Fetch a URL's body within ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    # The scheme is http or https: _is_url checked it.
    request = urllib.request.Request(  # noqa: S310
        url, headers={"User-Agent": _USER_AGENT, "Accept": "audio/*, */*"}
    )
    shown = _shown(url)
    chunks: list[bytes] = []
    size = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            while chunk := response.read(_READ_SIZE):
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise PagingError(
                        f"{shown} is larger than {MAX_DOWNLOAD_BYTES} bytes"
                    )
                if time.monotonic() > deadline:
                    raise MediaUnavailableError(
                        f"{shown} took longer than {timeout} s to download"
                    )
                chunks.append(chunk)
    except urllib.error.HTTPError as err:
        err.close()
        raise MediaUnavailableError(f"{shown} answered HTTP {err.code}") from err
    except TimeoutError as err:
        raise MediaUnavailableError(
            f"{shown} did not answer within {timeout} s"
        ) from err
    except urllib.error.URLError as err:
        raise MediaUnavailableError(f"{shown} is unreachable: {err.reason}") from err
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise MediaUnavailableError(f"{shown} could not be read: {err!r}") from err
    return b"".join(chunks)


def _decode(media: io.BytesIO | str, max_samples: int) -> Samples:
    """Decode the first audio stream to 8 kHz mono 16-bit samples."""
    chunks: list[Samples] = []
    total = 0

    def take(frames: list[av.AudioFrame]) -> None:
        """Keep resampled frames, up to the length allowed."""
        nonlocal total
        for frame in frames:
            total += frame.samples
            if total > max_samples:
                raise PagingError(
                    f"The media is longer than {max_samples / SAMPLE_RATE:g} s"
                )
            chunks.append(frame.to_ndarray().reshape(-1).astype(np.int16))

    skipped = 0
    with av.open(media, mode="r") as container:
        if not container.streams.audio:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "none"
            raise UnsupportedMediaError(
                f"The media has no audio stream (streams: {kinds})"
            )
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                # A damaged packet costs a few ms of audio, not the whole page.
                skipped += 1
                continue
            for frame in frames:
                take(resampler.resample(frame))
        take(resampler.resample(None))
    if not chunks:
        raise UnsupportedMediaError(
            f"No audio could be decoded ({skipped} damaged packets)"
            if skipped
            else "The audio stream holds no samples"
        )
    return np.concatenate(chunks)


def transcode(
    source: bytes | str,
    codec: G711,
    *,
    gain_db: float = 0.0,
    timeout: float = 10.0,
    max_seconds: float = 600.0,
) -> bytes:
    """Decode media and return it as 8 kHz mono G.711, with a gain in dB.

    ``source`` is a media file's bytes, a local path, or an http(s) URL
    (fetched within ``timeout`` seconds). Media longer than ``max_seconds``
    raise PagingError; media PyAV cannot decode, UnsupportedMediaError; media
    that cannot be read, MediaUnavailableError. Blocking: use an executor.
    """
    _check_gain(gain_db)
    if not (math.isfinite(max_seconds) and max_seconds > 0):
        raise ValueError(f"max_seconds must be positive, not {max_seconds}")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be positive, not {timeout}")
    media: io.BytesIO | str
    if isinstance(source, str):
        if _is_url(source):
            media = io.BytesIO(_download(source, timeout))
        elif Path(source).is_file():
            media = source
        else:
            raise MediaUnavailableError(f"There is no file at {source}")
    else:
        media = io.BytesIO(source)
    try:
        samples = _decode(media, math.floor(max_seconds * SAMPLE_RATE))
    except PagingError:
        raise
    except OSError as err:
        raise MediaUnavailableError(f"The media could not be read: {err}") from err
    except (av.error.FFmpegError, ValueError, EOFError, RuntimeError) as err:
        raise UnsupportedMediaError(f"The media cannot be decoded: {err}") from err
    if gain_db:
        samples = _scale(samples, gain_db)
    return encode_samples(samples, codec)
