"""Draw the pictures a plate camera sends: the plate crop and the whole scene."""

import io
import random
from typing import Final

from PIL import Image, ImageDraw, ImageFont

from simulator.devices.lpr.messages import PlateColor

_FRAGMENT_SIZE: Final = (180, 56)
_SCENE_SIZE: Final = (480, 270)
# JPEG comment segment: marker, then a two-byte length that counts itself.
_COM_MARKER: Final = b"\xff\xfe"
_MAX_SEGMENT_PAYLOAD: Final = 65535 - 2
_SOI: Final = b"\xff\xd8"
# Plate background and character colours per colorType.
_PLATE_INKS: Final = {
    PlateColor.UNKNOWN: ((128, 128, 128), (0, 0, 0)),
    PlateColor.BLUE: ((20, 60, 200), (255, 255, 255)),
    PlateColor.YELLOW: ((240, 200, 20), (0, 0, 0)),
    PlateColor.WHITE: ((245, 245, 245), (0, 0, 0)),
    PlateColor.BLACK: ((15, 15, 15), (255, 255, 255)),
    PlateColor.GREEN: ((90, 200, 120), (0, 0, 0)),
    PlateColor.YELLOW_GREEN: ((200, 220, 60), (0, 0, 0)),
}


def _ink(color: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Return the background and character colours of a plate colour code."""
    try:
        return _PLATE_INKS[PlateColor(color)]
    except ValueError:
        return _PLATE_INKS[PlateColor.UNKNOWN]


def _sprinkle(image: Image.Image, seed: str, dots: int) -> None:
    """Add seeded specks, so no two results share a picture."""
    # Not security: a repeatable pattern per result.
    rng = random.Random(seed)  # noqa: S311
    width, height = image.size
    for _ in range(dots):
        shade = rng.randrange(256)
        image.putpixel(
            (rng.randrange(width), rng.randrange(height)), (shade, shade, shade)
        )


def _jpeg(image: Image.Image) -> bytes:
    """Encode a picture as a baseline JPEG."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def plate_fragment(plate: str, color: int, seed: str) -> bytes:
    """Draw the plate crop (``imageFragmentFile``), the plate text on its colour."""
    background, ink = _ink(color)
    image = Image.new("RGB", _FRAGMENT_SIZE, background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((2, 2, _FRAGMENT_SIZE[0] - 3, _FRAGMENT_SIZE[1] - 3), outline=ink)
    # The bundled font has no Chinese glyphs; the province shows as a box, as
    # smudged plates do.
    draw.text((10, 12), plate, fill=ink, font=ImageFont.load_default(size=26))
    _sprinkle(image, seed, 40)
    return _jpeg(image)


def scene_picture(plate: str, color: int, seed: str, size: int) -> bytes:
    """Draw the full scene (``imageFile``), padded to about ``size`` bytes.

    The padding is JPEG comment segments right after the start marker, so the
    file stays a valid JPEG; a picture already bigger than ``size`` is not cut.
    """
    image = Image.new("RGB", _SCENE_SIZE, (70, 74, 80))
    draw = ImageDraw.Draw(image)
    # Lane markings, a car body and its plate where the plate rectangle says.
    draw.line((0, 230, _SCENE_SIZE[0], 230), fill=(220, 220, 220), width=3)
    draw.rectangle((150, 110, 330, 225), fill=(40, 40, 60))
    background, ink = _ink(color)
    draw.rectangle((200, 190, 280, 210), fill=background)
    draw.text((8, 8), plate, fill=(255, 255, 255), font=ImageFont.load_default(16))
    draw.text((204, 192), plate[-5:], fill=ink)
    _sprinkle(image, seed, 200)
    return _pad(_jpeg(image), size)


def _pad(jpeg: bytes, size: int) -> bytes:
    """Grow a JPEG to ``size`` bytes with comment segments (never shrink it)."""
    missing = size - len(jpeg)
    segments: list[bytes] = []
    # Each segment costs 4 bytes of marker and length besides its payload.
    while missing > 4:
        payload = min(missing - 4, _MAX_SEGMENT_PAYLOAD)
        segments.append(
            _COM_MARKER + (payload + 2).to_bytes(2, "big") + b"\x00" * payload
        )
        missing -= payload + 4
    if not segments:
        return jpeg
    return _SOI + b"".join(segments) + jpeg[len(_SOI) :]
