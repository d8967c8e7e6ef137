"""Pixel work for the models: fit a frame into a model's square, warp a region out.

Frames are H x W x 3 uint8 RGB arrays. Downscaling goes through Pillow, whose
reducing resize is fast and does not alias; the small warps (a face to 112 x 112,
a plate to 32 pixels high) sample with numpy, which costs less than handing a
whole frame to Pillow for a few thousand output pixels.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

type Pixels = npt.NDArray[np.uint8]
type Points = npt.NDArray[np.float64]


class ImageDecodeError(ValueError):
    """Bytes that are not a picture Pillow can read."""


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a frame was scaled and padded into a model's square input."""

    scale: float
    pad_x: int
    pad_y: int

    def to_frame(self, points: Points) -> Points:
        """Map (..., 2) points in the model's input pixels back to frame pixels."""
        offset = np.array([self.pad_x, self.pad_y], dtype=np.float64)
        return (points - offset) / self.scale


def decode_picture(data: bytes) -> Pixels:
    """Read a JPEG/PNG/... into an RGB array."""
    from io import BytesIO

    try:
        with Image.open(BytesIO(data)) as picture:
            return np.asarray(picture.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise ImageDecodeError(f"not a readable picture: {err}") from err


def encode_jpeg(image: Pixels, quality: int = 85) -> bytes:
    """Write an RGB array as a JPEG."""
    from io import BytesIO

    buffer = BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def letterbox(image: Pixels, size: int, fill: int = 0) -> tuple[Pixels, Letterbox]:
    """Scale a frame to fit a size x size square, centred, padded with ``fill``."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_width = max(1, round(width * scale))
    new_height = max(1, round(height * scale))
    if (new_width, new_height) == (width, height):
        resized = image
    else:
        picture = Image.fromarray(image)
        resized = np.asarray(
            picture.resize(
                (new_width, new_height), Image.Resampling.BILINEAR, reducing_gap=2.0
            )
        )
    pad_x = (size - new_width) // 2
    pad_y = (size - new_height) // 2
    square = np.full((size, size, 3), fill, dtype=np.uint8)
    square[pad_y : pad_y + new_height, pad_x : pad_x + new_width] = resized
    return square, Letterbox(scale=scale, pad_x=pad_x, pad_y=pad_y)


def sample_bilinear(image: Pixels, xs: Points, ys: Points) -> Pixels:
    """Read the frame at fractional positions; outside the frame reads as black."""
    height, width = image.shape[:2]
    inside = (xs > -1) & (xs < width) & (ys > -1) & (ys < height)
    x0 = np.floor(xs)
    y0 = np.floor(ys)
    fx = (xs - x0)[..., None]
    fy = (ys - y0)[..., None]
    x0i = np.clip(x0.astype(np.intp), 0, width - 1)
    y0i = np.clip(y0.astype(np.intp), 0, height - 1)
    x1i = np.clip(x0i + 1, 0, width - 1)
    y1i = np.clip(y0i + 1, 0, height - 1)

    # Only the sampled pixels become floats, not the whole frame.
    def taps(
        ys: npt.NDArray[np.intp], xs: npt.NDArray[np.intp]
    ) -> npt.NDArray[np.float32]:
        return image[ys, xs].astype(np.float32)

    top = taps(y0i, x0i) * (1 - fx) + taps(y0i, x1i) * fx
    bottom = taps(y1i, x0i) * (1 - fx) + taps(y1i, x1i) * fx
    values = top * (1 - fy) + bottom * fy
    values[~inside] = 0
    pixels: Pixels = np.clip(values + 0.5, 0, 255).astype(np.uint8)
    return pixels


def warp_affine(
    image: Pixels, output_to_input: Points, width: int, height: int
) -> Pixels:
    """Cut a width x height picture out; ``output_to_input`` is a 2 x 3 matrix."""
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height))
    xs = (
        output_to_input[0, 0] * grid_x
        + output_to_input[0, 1] * grid_y
        + output_to_input[0, 2]
    )
    ys = (
        output_to_input[1, 0] * grid_x
        + output_to_input[1, 1] * grid_y
        + output_to_input[1, 2]
    )
    return sample_bilinear(image, xs, ys)


def warp_perspective(
    image: Pixels, output_to_input: Points, width: int, height: int
) -> Pixels:
    """Cut a width x height picture out through a 3 x 3 homography."""
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height))
    h = output_to_input
    denominator = h[2, 0] * grid_x + h[2, 1] * grid_y + h[2, 2]
    xs = (h[0, 0] * grid_x + h[0, 1] * grid_y + h[0, 2]) / denominator
    ys = (h[1, 0] * grid_x + h[1, 1] * grid_y + h[1, 2]) / denominator
    return sample_bilinear(image, xs, ys)


def similarity_transform(source: Points, target: Points) -> Points:
    """Least-squares rotation, uniform scale and shift taking source to target.

    Returns the 2 x 3 matrix; points are (N, 2). No reflection is allowed: a
    mirrored face would be a different face.
    """
    source_mean = source.mean(axis=0)
    target_mean = target.mean(axis=0)
    src = source - source_mean
    dst = target - target_mean
    # Solve for a = s cos(t), b = s sin(t) minimising |[a -b; b a] src - dst|.
    denominator = float((src**2).sum())
    if denominator == 0:
        raise ValueError("the source points coincide")
    a = float((src[:, 0] * dst[:, 0] + src[:, 1] * dst[:, 1]).sum()) / denominator
    b = float((src[:, 0] * dst[:, 1] - src[:, 1] * dst[:, 0]).sum()) / denominator
    rotation = np.array([[a, -b], [b, a]])
    shift = target_mean - rotation @ source_mean
    return np.hstack([rotation, shift[:, None]])


def invert_affine(matrix: Points) -> Points:
    """Invert a 2 x 3 affine matrix."""
    square = np.vstack([matrix, [0.0, 0.0, 1.0]])
    return np.linalg.inv(square)[:2]


def homography(source: Points, target: Points) -> Points:
    """Return the 3 x 3 projective map taking four source points to four target points."""
    rows = []
    values = []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values.extend([u, v])
    solution = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(values))
    return np.append(solution, 1.0).reshape(3, 3)


def box_iou(box: Points, boxes: Points) -> npt.NDArray[np.float64]:
    """Intersection over union of one (left, top, right, bottom) box with many."""
    left = np.maximum(box[0], boxes[:, 0])
    top = np.maximum(box[1], boxes[:, 1])
    right = np.minimum(box[2], boxes[:, 2])
    bottom = np.minimum(box[3], boxes[:, 3])
    intersection = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - intersection
    return np.where(union > 0, intersection / np.maximum(union, 1e-12), 0.0)


def suppress_overlaps(
    boxes: Points,
    scores: npt.NDArray[np.float64],
    threshold: float,
    groups: npt.NDArray[np.intp] | None = None,
) -> list[int]:
    """Keep the best of boxes overlapping by more than ``threshold``, best first.

    With ``groups`` (e.g. classes), only boxes of the same group suppress each other.
    """
    kept: list[int] = []
    for index in np.argsort(-scores):
        rivals = np.array(kept, dtype=np.intp)
        if groups is not None and rivals.size:
            rivals = rivals[groups[rivals] == groups[index]]
        if rivals.size and (box_iou(boxes[index], boxes[rivals]) > threshold).any():
            continue
        kept.append(int(index))
    return kept
