"""Chinese licence plates: find the corners, straighten, read, validate.

The detector (a RetinaFace variant) gives each plate's box and four corners; the
plate is warped flat from its corners to 32 pixels high, and a CRNN reads it
with CTC. The CRNN's LSTM keeps state between calls, so it is reset for every
plate. A read that is no valid plate format is dropped here; agreement over
several frames is the caller's (see ``agreement``).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Final

import numpy as np

from ..community.plates import PlateKind, classify_plate
from .imaging import (
    Pixels,
    Points,
    homography,
    model_input,
    suppress_overlaps,
    warp_perspective,
)
from .runner import ModelRunner

DETECTOR_SIZE: Final = 640
# The detector's anchor boxes: two sizes per level, one level per stride.
ANCHOR_SIZES: Final = ((24, 48), (96, 192), (384, 768))
ANCHOR_STRIDES: Final = (8, 16, 32)
# Box and corner offsets are scaled by these at training time.
CENTRE_VARIANCE: Final = 0.1
SIZE_VARIANCE: Final = 0.2
# Channel means the detector was trained with (it takes BGR, unscaled).
DETECTOR_MEAN_RGB: Final = (123.0, 117.0, 104.0)
DEFAULT_MIN_SCORE: Final = 0.7
NMS_IOU: Final = 0.4
# At most this many plates per frame are read (the best-scored ones).
MAX_PLATES: Final = 4

READER_HEIGHT: Final = 32
READER_WIDTH: Final = 160
# How far beyond the detected corners the reader's crop reaches (a fraction of
# the plate's size); the tuning plates read best with none.
CROP_MARGIN: Final = 0.0
# Boxes wider than high by less than this are not plates (a plate is about 3:1);
# the detector's largest anchors fire on car bodies and road.
MIN_PLATE_ASPECT: Final = 2.0


@dataclass(frozen=True, slots=True)
class PlateDetection:
    """A plate found in a frame, in frame pixels."""

    box: tuple[float, float, float, float]
    score: float
    # (4, 2): top-left, top-right, bottom-right, bottom-left.
    corners: Points


@dataclass(frozen=True, slots=True)
class PlateReading:
    """What the reader made of one plate."""

    text: str
    # Mean probability of the characters read, 0 to 1.
    confidence: float
    kind: PlateKind | None
    detection: PlateDetection

    @property
    def valid(self) -> bool:
        """Say whether the text is a plate format China issues."""
        return self.kind is not None


def _anchors() -> Points:
    """Return the detector's anchors as (cx, cy, w, h) in units of the input size."""
    rows: list[tuple[float, float, float, float]] = []
    for sizes, stride in zip(ANCHOR_SIZES, ANCHOR_STRIDES, strict=True):
        cells = -(-DETECTOR_SIZE // stride)
        for y, x in product(range(cells), range(cells)):
            rows.extend(
                (
                    (x + 0.5) * stride / DETECTOR_SIZE,
                    (y + 0.5) * stride / DETECTOR_SIZE,
                    size / DETECTOR_SIZE,
                    size / DETECTOR_SIZE,
                )
                for size in sizes
            )
    return np.array(rows)


_ANCHORS: Final = _anchors()


class PlateDetector:
    """Find plates and their corners on a letterboxed 640 x 640 copy of a frame."""

    def __init__(
        self, runner: ModelRunner, *, min_score: float = DEFAULT_MIN_SCORE
    ) -> None:
        """Use a loaded plate detector."""
        anchors = len(_ANCHORS)
        runner.expect(
            [(1, DETECTOR_SIZE, DETECTOR_SIZE, 3)],
            [(1, anchors, 4), (1, anchors, 2), (1, anchors, 8)],
        )
        self.runner = runner
        self.min_score = min_score

    def detect(self, image: Pixels) -> list[PlateDetection]:
        """Find the plates in a frame, best first."""
        # Padded with the mean colour, which the model sees as zero.
        tensor, placement = model_input(
            image,
            DETECTOR_SIZE,
            mean_rgb=DETECTOR_MEAN_RGB,
            std_rgb=(1.0, 1.0, 1.0),
            bgr=True,
            fill_rgb=DETECTOR_MEAN_RGB,
        )
        outputs = self.runner.run(tensor)
        scores = self.runner.output_by_shape(outputs, 2)[0, :, 1]
        chosen = np.flatnonzero(scores >= self.min_score)
        if chosen.size == 0:
            return []
        # Only the few anchors above the threshold are decoded, in float64.
        offsets = self.runner.output_by_shape(outputs, 4)[0, chosen].astype(np.float64)
        corner_offsets = self.runner.output_by_shape(outputs, 8)[0, chosen]
        chosen_scores = scores[chosen].astype(np.float64)
        anchors = _ANCHORS[chosen]
        centres = anchors[:, :2] + offsets[:, :2] * CENTRE_VARIANCE * anchors[:, 2:]
        sizes = anchors[:, 2:] * np.exp(offsets[:, 2:] * SIZE_VARIANCE)
        boxes = np.hstack([centres - sizes / 2, centres + sizes / 2]) * DETECTOR_SIZE
        corners = (
            anchors[:, None, :2]
            + corner_offsets.astype(np.float64).reshape(-1, 4, 2)
            * CENTRE_VARIANCE
            * anchors[:, None, 2:]
        ) * DETECTOR_SIZE
        found = []
        widths = boxes[:, 2] - boxes[:, 0]
        heights = boxes[:, 3] - boxes[:, 1]
        # The detector also fires on the letterbox padding; a plate's centre
        # lies inside the picture.
        centres_x = (boxes[:, 0] + boxes[:, 2]) / 2
        centres_y = (boxes[:, 1] + boxes[:, 3]) / 2
        inside = (
            (centres_x >= placement.pad_x)
            & (centres_x <= DETECTOR_SIZE - placement.pad_x)
            & (centres_y >= placement.pad_y)
            & (centres_y <= DETECTOR_SIZE - placement.pad_y)
        )
        plausible = inside & (widths >= MIN_PLATE_ASPECT * np.maximum(heights, 1e-6))
        ranked = [
            index
            for index in suppress_overlaps(boxes, chosen_scores, NMS_IOU)
            if plausible[index]
        ]
        for index in ranked[:MAX_PLATES]:
            frame_box = placement.to_frame(boxes[index].reshape(2, 2)).ravel()
            found.append(
                PlateDetection(
                    box=(frame_box[0], frame_box[1], frame_box[2], frame_box[3]),
                    score=float(chosen_scores[index]),
                    corners=order_corners(placement.to_frame(corners[index])),
                )
            )
        return found


def order_corners(points: Points) -> Points:
    """Sort four corners clockwise from the top left.

    The bundled detector gives them from the bottom right; other models may
    differ, so their order is read off where they are, by angle around the
    centre (image y points down).
    """
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    ordered: Points = points[np.argsort(angles)]
    return ordered


def rectify(image: Pixels, corners: Points) -> Pixels:
    """Warp a plate flat onto the reader's whole 160 x 32 input.

    Stretched to the full width, not kept at its aspect ratio and padded: the
    reader was trained on text filling its input, and reads rendered and real
    plates far better so (34 of 40 tuning plates exact, against 20 padded).
    """
    centre = corners.mean(axis=0)
    widened = centre + (corners - centre) * (1 + 2 * CROP_MARGIN)
    target = np.array(
        [
            [0, 0],
            [READER_WIDTH - 1, 0],
            [READER_WIDTH - 1, READER_HEIGHT - 1],
            [0, READER_HEIGHT - 1],
        ],
        dtype=np.float64,
    )
    return warp_perspective(
        image, homography(target, widened), READER_WIDTH, READER_HEIGHT
    )


class PlateReader:
    """The CRNN: a straightened plate to text, with CTC decoding."""

    def __init__(self, runner: ModelRunner, characters: Sequence[str]) -> None:
        """Use a loaded reader and its character list (index 0 is the CTC blank)."""
        runner.expect(
            [(1, READER_HEIGHT, READER_WIDTH, 3)],
            [(1, runner.outputs[0].shape[1], len(characters) + 1)],
        )
        self.runner = runner
        self.characters = tuple(characters)

    @staticmethod
    def load_characters(path: Path) -> list[str]:
        """Read a character list, one per line."""
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line]

    def read(self, crop: Pixels) -> tuple[str, float]:
        """Read a 32-pixel-high plate crop; return its text and confidence."""
        tensor = np.zeros((1, READER_HEIGHT, READER_WIDTH, 3), dtype=np.float32)
        width = crop.shape[1]
        # BGR, scaled to [-1, 1]; the padding on the right stays 0 (mid grey).
        tensor[0, :, :width] = crop[:, :, ::-1].astype(np.float32) / 127.5 - 1.0
        (probabilities,) = self.runner.run(tensor, reset_state=True)
        steps = probabilities[0]
        best = steps.argmax(axis=1)
        text = []
        confidences = []
        previous = 0
        for step, index in enumerate(best):
            if index not in (0, previous):
                text.append(self.characters[index - 1])
                confidences.append(float(steps[step, index]))
            previous = index
        return "".join(text), float(np.mean(confidences)) if confidences else 0.0


class PlateRecognizer:
    """Detector and reader together: a frame to the valid plates in it."""

    def __init__(self, detector: PlateDetector, reader: PlateReader) -> None:
        """Combine a detector and a reader."""
        self.detector = detector
        self.reader = reader

    def read_detection(self, image: Pixels, detection: PlateDetection) -> PlateReading:
        """Read one detected plate."""
        text, confidence = self.reader.read(rectify(image, detection.corners))
        return PlateReading(
            text=text,
            confidence=confidence,
            kind=classify_plate(text),
            detection=detection,
        )
