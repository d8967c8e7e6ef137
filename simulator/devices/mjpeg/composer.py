"""Compose camera frames from a background and a still, and encode each once.

Composing and encoding a 1280x720 frame takes tens of milliseconds, while a
stream sends the same frame ten times a second to every client: so each distinct
frame is encoded once and its JPEG (with its multipart framing) is kept.
"""

from collections import OrderedDict
from dataclasses import dataclass
import io
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from simulator.devices.mjpeg.media import MediaError
from simulator.devices.mjpeg.options import Placement, Scene
from simulator.devices.mjpeg.stream import frame_part

# Pillow's default 4:2:0 baseline JPEG: what IP cameras send and every decoder reads.
JPEG_QUALITY: Final = 80
# A face still is scaled to this share of the frame height.
FACE_HEIGHT_SHARE: Final = 0.7
# Decoding a picture larger than this is refused (a bomb, not a camera still).
MAX_PICTURE_PIXELS: Final = 40_000_000
_SCENE_COLOURS: Final = {
    Scene.DOOR: ((70, 62, 54), (150, 140, 120)),
    Scene.GATE: ((60, 70, 80), (110, 110, 105)),
    Scene.ELEVATOR: ((90, 90, 96), (170, 168, 160)),
    Scene.GENERAL: ((52, 70, 60), (120, 140, 120)),
}


@dataclass(frozen=True, slots=True)
class Frame:
    """Hold one encoded frame: the JPEG and the same JPEG framed as a stream part."""

    jpeg: bytes
    part: bytes


def open_picture(source: Path | bytes) -> Image.Image:
    """Decode a picture file or bytes fully, upright, as RGB (RGBA if it has alpha)."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(stream) as opened:
            if opened.width * opened.height > MAX_PICTURE_PIXELS:
                raise MediaError(
                    f"the picture is {opened.width}x{opened.height}, more than "
                    f"{MAX_PICTURE_PIXELS:,} pixels"
                )
            picture = ImageOps.exif_transpose(opened)
            has_alpha = "A" in picture.getbands() or "transparency" in picture.info
            return picture.convert("RGBA" if has_alpha else "RGB")
    except FileNotFoundError:
        raise MediaError(f"no such file: {stream}") from None
    except UnidentifiedImageError:
        raise MediaError("not a picture: no image format recognised") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise MediaError(f"the picture does not decode: {error}") from None


def draw_background(scene: Scene, width: int, height: int) -> Image.Image:
    """Draw a plain stand-in scene for when the media folder has no background."""
    wall, floor = _SCENE_COLOURS[scene]
    image = Image.new("RGB", (width, height), wall)
    draw = ImageDraw.Draw(image)
    horizon = height * 2 // 3
    draw.rectangle((0, horizon, width, height), fill=floor)
    # A door frame or a lift door in the middle, so the picture has edges.
    left, right = width * 3 // 8, width * 5 // 8
    draw.rectangle(
        (left, height // 6, right, horizon), outline=floor, width=max(2, width // 200)
    )
    draw.text((8, 8), f"simulated {scene} camera", fill=(230, 230, 230))
    return image


def fit_size(still: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """Return ``still`` scaled to the largest size inside ``box``, same aspect ratio."""
    scale = min(box[0] / still[0], box[1] / still[1])
    return max(1, round(still[0] * scale)), max(1, round(still[1] * scale))


class FrameComposer:
    """Paste stills onto a camera's background and encode the result as JPEG."""

    def __init__(self, width: int, height: int, background: Image.Image) -> None:
        """Crop and scale ``background`` once so it fills a ``width``x``height`` frame."""
        self.width = width
        self.height = height
        self._background = ImageOps.fit(
            background.convert("RGB"), (width, height), Image.Resampling.LANCZOS
        )

    def box_for(self, placement: Placement) -> tuple[int, int]:
        """Return the largest size a still of ``placement`` may take."""
        if placement is Placement.FACE:
            return self.width, round(self.height * FACE_HEIGHT_SHARE)
        return self.width, self.height

    def compose(self, still: Image.Image | None, placement: Placement) -> Frame:
        """Return the frame with ``still`` centred on the background (None: empty)."""
        image = self._background
        if still is not None:
            image = image.copy()
            size = fit_size(still.size, self.box_for(placement))
            scaled = still.resize(size, Image.Resampling.LANCZOS)
            corner = ((self.width - size[0]) // 2, (self.height - size[1]) // 2)
            mask = scaled if scaled.mode == "RGBA" else None
            image.paste(scaled, corner, mask)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        jpeg = buffer.getvalue()
        return Frame(jpeg, frame_part(jpeg))


class FrameCache:
    """Keep encoded frames by key, dropping the least recently used past a budget."""

    def __init__(self, max_bytes: int) -> None:
        """Start empty; hold at most ``max_bytes`` of JPEG data."""
        self.max_bytes = max_bytes
        self._frames: OrderedDict[str, Frame] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        """Return how many frames are kept."""
        return len(self._frames)

    def get(self, key: str) -> Frame | None:
        """Return the frame kept under ``key``, marking it recently used."""
        frame = self._frames.get(key)
        if frame is not None:
            self._frames.move_to_end(key)
        return frame

    def put(self, key: str, frame: Frame) -> None:
        """Keep ``frame`` under ``key``; drop old frames beyond the budget."""
        if (old := self._frames.pop(key, None)) is not None:
            self._bytes -= len(old.part)
        self._frames[key] = frame
        self._bytes += len(frame.part)
        while self._bytes > self.max_bytes and len(self._frames) > 1:
            _, dropped = self._frames.popitem(last=False)
            self._bytes -= len(dropped.part)
