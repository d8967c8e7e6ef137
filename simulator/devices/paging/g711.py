"""Decode G.711 (ITU-T G.711) μ-law and A-law bytes to 16-bit linear samples.

Both laws are table-based: the 256 code words are expanded once, at import,
with the segment and quantisation rules of the Recommendation, and decoding
is a table lookup. Samples are scaled to 16-bit full scale, as usual for
G.711 decoders: μ-law reaches ±32124 and A-law ±32256.
"""

from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

_SIGN: Final = 0x80
_SEGMENT_MASK: Final = 0x70
_SEGMENT_SHIFT: Final = 4
_STEP_MASK: Final = 0x0F
# μ-law is biased by 33 (in 14-bit units) so that every segment starts at a
# power of two; here in 16-bit units (33 << 2).
_ULAW_BIAS: Final = 0x84
# A-law code words have their even bits inverted on the line.
_ALAW_TOGGLE: Final = 0x55


def ulaw_to_linear(code: int) -> int:
    """Expand one μ-law code word to a 16-bit linear sample."""
    inverted = ~code & 0xFF
    segment = (inverted & _SEGMENT_MASK) >> _SEGMENT_SHIFT
    step = inverted & _STEP_MASK
    magnitude = (((step << 3) + _ULAW_BIAS) << segment) - _ULAW_BIAS
    # Sign bit set (after inversion): negative.
    return -magnitude if inverted & _SIGN else magnitude


def alaw_to_linear(code: int) -> int:
    """Expand one A-law code word to a 16-bit linear sample."""
    toggled = code ^ _ALAW_TOGGLE
    segment = (toggled & _SEGMENT_MASK) >> _SEGMENT_SHIFT
    step = toggled & _STEP_MASK
    # Decision values sit half a step into each interval: +8 (16-bit units)
    # in segment 0, and segment n >= 1 adds the implicit leading bit (0x100).
    magnitude = (
        (step << 4) + 8 if segment == 0 else ((step << 4) + 0x108) << (segment - 1)
    )
    # In A-law the sign bit set means positive.
    return magnitude if toggled & _SIGN else -magnitude


class Codec(StrEnum):
    """Name a G.711 law by its RTP encoding name (RFC 3551)."""

    PCMU = "PCMU"
    PCMA = "PCMA"


@dataclass(frozen=True, slots=True)
class G711Law:
    """Hold one law's static payload type and decoding tables."""

    codec: Codec
    payload_type: int
    expand: Callable[[int], int]
    # Linear sample of each code word, and its square and magnitude (for levels).
    samples: tuple[int, ...] = field(init=False)
    squares: tuple[int, ...] = field(init=False)
    magnitudes: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        """Expand the 256 code words once."""
        samples = tuple(self.expand(code) for code in range(256))
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "squares", tuple(value * value for value in samples))
        object.__setattr__(self, "magnitudes", tuple(abs(value) for value in samples))

    def decode(self, payload: bytes) -> array[int]:
        """Decode a payload to signed 16-bit samples."""
        return array("h", map(self.samples.__getitem__, payload))


PCMU: Final = G711Law(Codec.PCMU, 0, ulaw_to_linear)
PCMA: Final = G711Law(Codec.PCMA, 8, alaw_to_linear)
LAWS: Final[dict[Codec, G711Law]] = {PCMU.codec: PCMU, PCMA.codec: PCMA}
# RFC 3551 static payload types of the two laws.
LAWS_BY_PAYLOAD_TYPE: Final[dict[int, G711Law]] = {
    PCMU.payload_type: PCMU,
    PCMA.payload_type: PCMA,
}
SAMPLE_RATE: Final = 8000
