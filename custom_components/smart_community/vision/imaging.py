"""Pixel work for the models: fit a frame into a model's square, warp a region out.

Frames are H x W x 3 uint8 RGB arrays. The pixel loops run in Pillow's C code:
numpy only prepares matrices and normalises the pixels a model takes in.

Pillow keeps RGB at four bytes a pixel, so handing it an H x W x 3 array
copies the whole frame (6 MB, 0.8 ms at 1080p). The stream reader therefore
converts frames into an RGBX buffer and hands out its RGB view
(``rgb_view``), which ``as_pillow`` maps into Pillow without a copy; any
other array is copied as before.
"""

from dataclasses import dataclass
import functools
import math
import threading
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, _imaging as pillow_core

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
    # Where the scaled picture starts in the frame (a part of the frame's corner).
    origin_x: float = 0.0
    origin_y: float = 0.0

    def to_frame(self, points: Points) -> Points:
        """Map (..., 2) points in the model's input pixels back to frame pixels."""
        pad = np.array([self.pad_x, self.pad_y], dtype=np.float64)
        origin = np.array([self.origin_x, self.origin_y], dtype=np.float64)
        return (points - pad) / self.scale + origin


type Region = tuple[int, int, int, int]  # left, top, right, bottom


def rgb_view(rgbx: Pixels) -> Pixels:
    """Return the H x W x 3 RGB view of a C-contiguous H x W x 4 RGBX array.

    The view is what consumers see as the frame; ``as_pillow`` recognises it
    and maps the RGBX buffer underneath instead of copying the pixels.
    """
    if rgbx.ndim != 3 or rgbx.shape[2] != 4 or not rgbx.flags.c_contiguous:
        raise ValueError(f"not a C-contiguous H x W x 4 array: {rgbx.shape}")
    return rgbx[:, :, :3]


def _rgbx_buffer(image: Pixels) -> Pixels | None:
    """Return the RGBX array that ``image`` is the ``rgb_view`` of, if it is one."""
    owner = image.base
    if not isinstance(owner, np.ndarray):
        return None
    height, width = image.shape[:2]
    if (
        owner.dtype == np.uint8
        and owner.shape == (height, width, 4)
        and owner.flags.c_contiguous
        and image.shape == (height, width, 3)
        and image.strides == (*owner.strides[:2], 1)
        and image.ctypes.data == owner.ctypes.data
    ):
        return owner
    return None


def as_pillow(image: Pixels) -> Image.Image:
    """Return a Pillow image of an RGB frame, sharing an ``rgb_view``'s pixels.

    The image of a shared buffer is read-only to Pillow; operations that make
    new images (resize, reduce, crop, transform) read it in place.
    """
    if (rgbx := _rgbx_buffer(image)) is not None:
        return _map_rgbx(rgbx)
    return Image.fromarray(image)


def _map_rgbx(rgbx: Pixels) -> Image.Image:
    """Map an RGBX buffer into Pillow without a copy, as an RGB image if possible.

    An RGB image's memory in Pillow is four bytes a pixel with the fourth
    unused: an RGBX buffer. Pillow's public ``frombuffer`` maps it only as
    RGBX, whose four-band code paths are slower (measured at 1080p: a box
    reduction 20 % slower, a bilinear warp 40 %), so it is mapped as RGB with
    the call ``frombuffer`` itself makes. Should a Pillow release refuse that,
    the public RGBX mapping serves.
    """
    height, width = rgbx.shape[:2]
    try:
        mapped = pillow_core.map_buffer(rgbx, (width, height), "raw", 0, ("RGB", 0, 1))
        picture = Image.new("RGB", (0, 0))._new(mapped)  # noqa: SLF001 - as frombuffer
    except AttributeError, TypeError, ValueError:
        return Image.frombuffer("RGBX", (width, height), rgbx, "raw", "RGBX", 0, 1)
    picture.readonly = 1
    return picture


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
    as_pillow(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def fit(image: Pixels, size: int) -> tuple[Pixels, Letterbox]:
    """Scale a frame to fit a size x size square; say where it goes in the square.

    Every output pixel averages over its box, so fine detail does not alias
    into false patterns (with sampling, hardly):

    - A large reduction (a factor of ``SAMPLED_MIN_FACTOR`` or more, as from
      720p or 1080p into BlazeFace's 192) averages a grid of 3 x 3 samples
      spread evenly over the pixel's box instead of every pixel in it.
    - Otherwise Pillow box-reduces by the whole factor and resizes the small
      rest bilinearly (five times faster than a bilinear resize of the whole
      frame); an exact factor (1080p or 720p to 640) is the box reduction alone.
    """
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_width = max(1, round(width * scale))
    new_height = max(1, round(height * scale))
    placement = Letterbox(
        scale=scale, pad_x=(size - new_width) // 2, pad_y=(size - new_height) // 2
    )
    if (new_width, new_height) == (width, height):
        return image, placement
    if min(width / new_width, height / new_height) >= SAMPLED_MIN_FACTOR:
        return _sampled_reduce(
            image, new_width, new_height, SAMPLES_PER_SIDE
        ), placement
    picture = as_pillow(image)
    factor = width // new_width
    if factor > 1 and (new_width * factor, new_height * factor) == (width, height):
        picture = picture.reduce(factor)
    else:
        picture = picture.resize(
            (new_width, new_height), Image.Resampling.BILINEAR, reducing_gap=1.0
        )
    # An RGBX picture (see _map_rgbx) has a fourth channel, which the view leaves out.
    resized: Pixels = np.asarray(picture)[:, :, :3]
    return resized, placement


# Samples per side of an output pixel's box in a large reduction, and the
# factor from which a reduction is large. Reading every pixel of a 1080p frame
# to make 192 x 108 took 1.4-2.1 ms; 3 x 3 samples take 0.7 ms. On 500 faces
# composed into 720p and 1080p frames (12-70 px between the eyes) BlazeFace
# found 269 faces against 270 reading every pixel, and the embeddings of the
# faces found were no further from their enrolment photos (0.016 closer on
# average): a 3 x 3 grid keeps what the detector needs. Two samples per side
# lost 6 of the 270. (A one-off comparison when the sampling came in; the
# accuracy report's "faces in frames" follows detection by distance since.)
SAMPLES_PER_SIDE: Final = 3
SAMPLED_MIN_FACTOR: Final = 2 * SAMPLES_PER_SIDE
OVERVIEW_SAMPLED_FACTOR: Final = 3


def _sampled_reduce(image: Pixels, width: int, height: int, samples: int) -> Pixels:
    """Average samples x samples points per output pixel into width x height."""
    frame_height, frame_width = image.shape[:2]
    rows = _sample_positions(frame_height, height * samples)
    columns = _sample_positions(frame_width, width * samples)
    if (rgbx := _rgbx_buffer(image)) is not None:
        # One 32-bit number a pixel: each gather moves a whole pixel at once.
        pixels = rgbx.view(np.uint32)[:, :, 0]
        taken = pixels.take(rows, axis=0).take(columns, axis=1)
        picture = _map_rgbx(taken.view(np.uint8).reshape(*taken.shape, 4))
    else:
        picture = Image.fromarray(image.take(rows, axis=0).take(columns, axis=1))
    reduced: Pixels = np.asarray(picture.reduce(samples))[:, :, :3]
    return reduced


def overview(image: Pixels, short_side: int) -> tuple[Pixels, float]:
    """Reduce a frame so that its short side is ``short_side``; return it and the scale.

    Parts of the overview then go to a model as they are. From a reduction
    by 3 on (720p to 192 rows is 3.75, 1080p 5.6), each pixel averages 2 x 2
    samples of its box (3 x 3 from 6 on, as ``fit``); a smaller reduction
    reads every pixel.
    """
    height, width = image.shape[:2]
    scale = short_side / min(height, width)
    new_width = max(1, round(width * scale))
    new_height = max(1, round(height * scale))
    factor = 1 / scale
    if factor >= OVERVIEW_SAMPLED_FACTOR:
        samples = min(SAMPLES_PER_SIDE, max(2, int(factor // 2)))
        return _sampled_reduce(image, new_width, new_height, samples), scale
    reduced, _ = fit(image, max(new_width, new_height))
    return reduced, scale


@functools.cache
def _sample_positions(length: int, count: int) -> npt.NDArray[np.intp]:
    """Return the pixel at the centre of each of ``count`` equal cells of a line."""
    positions = ((np.arange(count) + 0.5) * (length / count)).astype(np.intp)
    positions.flags.writeable = False
    return positions


def model_input(
    image: Pixels,
    size: int,
    *,
    mean_rgb: tuple[float, float, float],
    std_rgb: tuple[float, float, float],
    bgr: bool = False,
    fill_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> tuple[npt.NDArray[np.float32], Letterbox]:
    """Letterbox a frame straight into a model's (1, size, size, 3) float input.

    Each pixel becomes (value - mean) / std, channels in the model's order; the
    padding is ``fill_rgb`` normalised the same way. Only the picture's part of
    the square is computed: no uint8 square, no whole-square float passes.

    The returned array is this thread's buffer for that size, overwritten by
    its next call: hand it to the model (which copies it) before then. A fresh
    5 MB array each frame cost 2 ms of page faults at 640 x 640.
    """
    resized, placement = fit(image, size)
    return letterbox_tensor(
        resized,
        placement,
        size,
        mean_rgb=mean_rgb,
        std_rgb=std_rgb,
        bgr=bgr,
        fill_rgb=fill_rgb,
    )


def letterbox_tensor(
    resized: Pixels,
    placement: Letterbox,
    size: int,
    *,
    mean_rgb: tuple[float, float, float],
    std_rgb: tuple[float, float, float],
    bgr: bool = False,
    fill_rgb: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> tuple[npt.NDArray[np.float32], Letterbox]:
    """Normalise a picture already fitted into ``size`` into the model's buffer.

    ``model_input`` is ``fit`` followed by this; see there.
    """
    order = slice(None, None, -1) if bgr else slice(None)
    mean = np.array(mean_rgb, dtype=np.float32)[order]
    inverse_std = 1 / np.array(std_rgb, dtype=np.float32)[order]
    fill = (np.array(fill_rgb, dtype=np.float32)[order] - mean) * inverse_std
    tensor = _input_buffer(size)
    height, width = resized.shape[:2]
    top, left = placement.pad_y, placement.pad_x
    # Only the padding strips are filled; the picture overwrites the rest.
    # numpy loops innermost over the last axis it can merge: broadcasting
    # three values makes that loop three floats long (1.2 ms for the strips
    # at 640 x 640), a whole padded row lets it run along rows (0.05 ms).
    padded_row = np.tile(fill, (size, 1))
    tensor[0, :top] = padded_row
    tensor[0, top + height :] = padded_row
    tensor[0, top : top + height, :left] = padded_row[:left]
    tensor[0, top : top + height, left + width :] = padded_row[left + width :]
    region = tensor[0, top : top + height, left : left + width]
    source = resized[:, :, order]
    if np.all(mean == mean[0]) and np.all(inverse_std == inverse_std[0]):
        # The same sum for every channel: look each byte up in a table of
        # its 256 results, one pass (0.05 ms instead of 0.12 at 192 x 108).
        normalised_bytes(source, region, float(mean[0]), float(inverse_std[0]))
        return tensor, placement
    # One channel at a time, for the same reason as the padding: 0.6 ms
    # instead of 1.7 at 640 x 360.
    for channel in range(3):
        plane = region[:, :, channel]
        np.subtract(source[:, :, channel], mean[channel], out=plane)
        if inverse_std[channel] != 1:
            np.multiply(plane, inverse_std[channel], out=plane)
    return tensor, placement


def normalised_bytes(
    pixels: Pixels, out: npt.NDArray[np.float32], mean: float, inverse_std: float
) -> None:
    """Write (pixel - mean) * inverse_std of every byte of ``pixels`` into ``out``."""
    np.take(_byte_table(mean, inverse_std), pixels, out=out, mode="clip")


@functools.cache
def _byte_table(mean: float, inverse_std: float) -> npt.NDArray[np.float32]:
    """Return (byte - mean) * inverse_std for the 256 byte values, as float32."""
    values = np.arange(256, dtype=np.float32)
    table = (values - np.float32(mean)) * np.float32(inverse_std)
    table.flags.writeable = False
    return table


_BUFFERS: Final = threading.local()


def _input_buffer(size: int) -> npt.NDArray[np.float32]:
    """Return the calling thread's (1, size, size, 3) float buffer."""
    buffers: dict[int, npt.NDArray[np.float32]] = _BUFFERS.__dict__.setdefault(
        "by_size", {}
    )
    if size not in buffers:
        buffers[size] = np.empty((1, size, size, 3), dtype=np.float32)
    return buffers[size]


def warp_affine(
    image: Pixels, output_to_input: Points, width: int, height: int
) -> Pixels:
    """Cut a width x height picture out; ``output_to_input`` is a 2 x 3 matrix."""
    return warp_perspective(
        image, np.vstack([output_to_input, [0.0, 0.0, 1.0]]), width, height
    )


_FROM_CENTRES: Final = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, -0.5], [0.0, 0.0, 1.0]])


@functools.cache
def _output_corners(width: int, height: int) -> Points:
    """Return the corner pixels of a width x height output, homogeneous."""
    corners = np.array(
        [[0, 0, 1], [width - 1, 0, 1], [width - 1, height - 1, 1], [0, height - 1, 1]],
        dtype=np.float64,
    )
    corners.flags.writeable = False
    return corners


def warp_perspective(
    image: Pixels, output_to_input: Points, width: int, height: int
) -> Pixels:
    """Cut a width x height picture out through a 3 x 3 homography, bilinearly.

    Pixel (x, y) of the output reads the frame at ``output_to_input`` applied to
    (x, y), in pixel indices; outside the frame reads as black. Only the frame's
    region under the output goes to Pillow, so a face or plate costs the same
    in a 1080p frame as in a 720p one.
    """
    frame_height, frame_width = image.shape[:2]
    mapped = _output_corners(width, height) @ output_to_input.T
    if np.any(mapped[:, 2] <= 0):
        raise ValueError("the warp folds the output over the horizon")
    mapped = mapped[:, :2] / mapped[:, 2:]
    lowest = mapped.min(axis=0)
    highest = mapped.max(axis=0)
    # Two pixels of margin: bilinear sampling reads the next pixel over.
    left = max(0, math.floor(lowest[0]) - 2)
    top = max(0, math.floor(lowest[1]) - 2)
    right = min(frame_width, math.ceil(highest[0]) + 3)
    bottom = min(frame_height, math.ceil(highest[1]) + 3)
    if left >= right or top >= bottom:
        return np.zeros((height, width, 3), dtype=np.uint8)
    # Pillow samples at pixel centres (index + 0.5) in both pictures; the
    # crop starts at (left, top).
    into_crop_centres = np.array(
        [[1.0, 0.0, 0.5 - left], [0.0, 1.0, 0.5 - top], [0.0, 0.0, 1.0]]
    )
    matrix = into_crop_centres @ output_to_input @ _FROM_CENTRES
    matrix /= matrix[2, 2]
    if (rgbx := _rgbx_buffer(image)) is not None:
        crop = _map_rgbx(rgbx).crop((left, top, right, bottom))
    else:
        crop = Image.fromarray(np.ascontiguousarray(image[top:bottom, left:right]))
    # Pillow's affine warp is a sixth faster than its perspective one (0.26
    # against 0.31 ms for a 112 x 112 face), and a face's warp is affine.
    affine = bool(np.all(matrix[2, :2] == 0))
    warped = crop.transform(
        (width, height),
        Image.Transform.AFFINE if affine else Image.Transform.PERSPECTIVE,
        tuple(matrix.ravel()[: 6 if affine else 8]),
        Image.Resampling.BILINEAR,
    )
    if warped.mode != "RGB":
        warped = warped.convert("RGB")
    return np.asarray(warped)


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


def pairwise_iou(first: Points, second: Points) -> npt.NDArray[np.float64]:
    """Intersection over union of every box in ``first`` with every one in ``second``."""
    left = np.maximum(first[:, None, 0], second[None, :, 0])
    top = np.maximum(first[:, None, 1], second[None, :, 1])
    right = np.minimum(first[:, None, 2], second[None, :, 2])
    bottom = np.minimum(first[:, None, 3], second[None, :, 3])
    intersection = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    first_areas = (first[:, 2] - first[:, 0]) * (first[:, 3] - first[:, 1])
    second_areas = (second[:, 2] - second[:, 0]) * (second[:, 3] - second[:, 1])
    union = first_areas[:, None] + second_areas[None, :] - intersection
    return np.where(union > 0, intersection / np.maximum(union, 1e-12), 0.0)


def suppress_overlaps(
    boxes: Points,
    scores: npt.NDArray[np.float64],
    threshold: float,
    groups: npt.NDArray[np.intp] | None = None,
) -> list[int]:
    """Keep the best of boxes overlapping by more than ``threshold``, best first.

    With ``groups`` (e.g. classes), only boxes of the same group suppress each other.
    The overlaps are computed once for all pairs: detectors give dozens of
    candidates per object, and one IoU call per candidate cost more than the rest.
    """
    overlapping = pairwise_iou(boxes, boxes) > threshold
    if groups is not None:
        overlapping &= groups[:, None] == groups[None, :]
    suppressed = np.zeros(len(boxes), dtype=np.bool_)
    kept: list[int] = []
    for index in np.argsort(-scores):
        if suppressed[index]:
            continue
        kept.append(int(index))
        suppressed |= overlapping[index]
    return kept
