"""Make the terminal's camera pictures and judge uploaded face pictures."""

import io
from typing import Final

from PIL import Image, ImageDraw, UnidentifiedImageError

from simulator.devices.isapi.status import IsapiError, StatusCode

JPEG_MAGIC: Final = b"\xff\xd8"
# Anything smaller cannot hold a face the terminal could model.
MIN_FACE_BYTES: Final = 512
_SNAPSHOT_SIZE: Final = (320, 240)


def make_snapshot(label: str) -> bytes:
    """Draw a small baseline JPEG of the entrance, labelled with ``label``."""
    image = Image.new("RGB", _SNAPSHOT_SIZE, (38, 52, 71))
    draw = ImageDraw.Draw(image)
    # A door frame and a floor line, so the picture is not a flat colour.
    draw.rectangle((110, 40, 210, 220), outline=(200, 200, 190), width=4)
    draw.line((0, 220, _SNAPSHOT_SIZE[0], 220), fill=(120, 120, 110), width=3)
    draw.text((8, 8), label, fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def check_face_picture(data: bytes) -> None:
    """Refuse a face picture that is not a decodable JPEG of a plausible size."""
    if not data.startswith(JPEG_MAGIC) or len(data) < MIN_FACE_BYTES:
        raise _poor_face(f"not a JPEG of at least {MIN_FACE_BYTES} bytes")
    try:
        with Image.open(io.BytesIO(data)) as picture:
            if picture.format != "JPEG":
                raise _poor_face("not a JPEG")
            picture.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise _poor_face(f"the JPEG does not decode: {error}") from None


def _poor_face(message: str) -> IsapiError:
    """Return the terminal's error for a picture it cannot model a face from."""
    return IsapiError(StatusCode.INVALID_CONTENT, "faceQualityNotGood", message)
