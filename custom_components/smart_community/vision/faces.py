"""Faces: BlazeFace full-range detection, alignment, MobileFaceNet embeddings.

BlazeFace finds faces with six keypoints. Four of them (both eyes, nose tip,
mouth centre) map the face onto the 112 x 112 ArcFace template by a similarity
transform; MobileFaceNet only separates people reliably on faces aligned that
way (a plain square crop barely does). Embeddings are L2-normalised, so the
distance between two faces is between 0 and 2.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .imaging import (
    Pixels,
    Points,
    invert_affine,
    model_input,
    normalised_bytes,
    pairwise_iou,
    similarity_transform,
    warp_affine,
)
from .runner import ModelRunner

DETECTOR_SIZE: Final = 192
# BlazeFace takes pixels scaled to [-1, 1].
PIXEL_MIDDLE: Final = (127.5, 127.5, 127.5)
# Full range: one anchor per cell of a 48 x 48 grid (stride 4).
DETECTOR_GRID: Final = 48
DETECTOR_VALUES: Final = 16
DEFAULT_MIN_SCORE: Final = 0.6
NMS_IOU: Final = 0.3
# Raw scores are clipped before the sigmoid, as MediaPipe does.
SCORE_CLIP: Final = 100.0

EMBEDDER_SIZE: Final = 112
EMBEDDER_BATCH: Final = 2
EMBEDDING_SIZE: Final = 192
# MobileFaceNet takes (pixel - 127.5) / 128.
EMBEDDER_MEAN: Final = 127.5
EMBEDDER_SCALE: Final = 1 / 128

# Where eyes, nose tip and mouth centre sit in a 112 x 112 ArcFace crop; the
# mouth centre is the midpoint of the template's two mouth corners. The first
# eye is the one on the left of the picture (the person's right eye), which is
# also BlazeFace's first keypoint.
ALIGNMENT_TEMPLATE: Final = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [56.1396, 92.2848],
    ]
)
ALIGNMENT_KEYPOINTS: Final = 4


@dataclass(frozen=True, slots=True)
class FaceDetection:
    """A face found in a frame, in frame pixels."""

    box: tuple[float, float, float, float]  # left, top, right, bottom
    score: float
    # (6, 2): right eye, left eye, nose tip, mouth centre, right ear, left ear.
    keypoints: Points

    @property
    def eye_distance(self) -> float:
        """Pixels between the eyes: how much detail the face has."""
        return float(np.linalg.norm(self.keypoints[0] - self.keypoints[1]))


def _anchors() -> Points:
    """Centres of the full-range model's anchors, in units of the input size."""
    cells = (np.arange(DETECTOR_GRID) + 0.5) / DETECTOR_GRID
    grid_y, grid_x = np.meshgrid(cells, cells, indexing="ij")
    return np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)


_ANCHORS: Final = _anchors()


class FaceDetector:
    """BlazeFace full range on a letterboxed 192 x 192 copy of the frame."""

    def __init__(
        self, runner: ModelRunner, *, min_score: float = DEFAULT_MIN_SCORE
    ) -> None:
        """Use a loaded full-range model."""
        anchors = DETECTOR_GRID * DETECTOR_GRID
        runner.expect(
            [(1, DETECTOR_SIZE, DETECTOR_SIZE, 3)],
            [(1, anchors, DETECTOR_VALUES), (1, anchors, 1)],
        )
        self.runner = runner
        self.min_score = min_score
        self._min_logit = float(np.log(min_score / (1.0 - min_score)))

    def detect(self, image: Pixels) -> list[FaceDetection]:
        """Find the faces in a frame, best first."""
        tensor, placement = model_input(
            image, DETECTOR_SIZE, mean_rgb=PIXEL_MIDDLE, std_rgb=PIXEL_MIDDLE
        )
        outputs = self.runner.run(tensor)
        regressors = self.runner.output_by_shape(outputs, DETECTOR_VALUES)[0]
        raw_scores = self.runner.output_by_shape(outputs, 1)[0, :, 0]
        # The sigmoid rises: compare raw scores with the minimum's logit, and
        # take the sigmoid of the few anchors above it only.
        chosen = np.flatnonzero(raw_scores >= self._min_logit)
        if chosen.size == 0:
            return []
        clipped = np.clip(raw_scores[chosen], -SCORE_CLIP, SCORE_CLIP)
        scores = 1.0 / (1.0 + np.exp(-clipped.astype(np.float64)))
        values = regressors[chosen].astype(np.float64) / DETECTOR_SIZE
        anchors = _ANCHORS[chosen]
        centres = values[:, 0:2] + anchors
        halves = values[:, 2:4] / 2
        boxes = np.hstack([centres - halves, centres + halves])
        keypoints = values[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
        faces = []
        for box, keys, score in _weighted_nms(boxes, keypoints, scores):
            corners = placement.to_frame(box.reshape(2, 2) * DETECTOR_SIZE).ravel()
            faces.append(
                FaceDetection(
                    box=(corners[0], corners[1], corners[2], corners[3]),
                    score=score,
                    keypoints=placement.to_frame(keys * DETECTOR_SIZE),
                )
            )
        return faces


def _weighted_nms(
    boxes: Points, keypoints: Points, scores: npt.NDArray[np.float64]
) -> list[tuple[Points, Points, float]]:
    """Merge overlapping detections into their score-weighted average.

    BlazeFace fires on several neighbouring anchors per face; averaging them
    (as MediaPipe does) places keypoints better than keeping the best one.
    """
    # Overlaps of every pair at once: one call instead of one per face.
    overlapping = pairwise_iou(boxes, boxes) > NMS_IOU
    remaining = np.argsort(-scores)
    merged = []
    while remaining.size:
        best = remaining[0]
        overlaps = overlapping[best, remaining]
        cluster = remaining[overlaps]
        weights = scores[cluster] / scores[cluster].sum()
        merged.append(
            (
                (boxes[cluster] * weights[:, None]).sum(axis=0),
                (keypoints[cluster] * weights[:, None, None]).sum(axis=0),
                float(scores[best]),
            )
        )
        remaining = remaining[~overlaps]
    return merged


def align_face(image: Pixels, face: FaceDetection) -> Pixels:
    """Cut the face out onto the 112 x 112 template from its keypoints."""
    frame_to_crop = similarity_transform(
        face.keypoints[:ALIGNMENT_KEYPOINTS], ALIGNMENT_TEMPLATE
    )
    return warp_affine(
        image, invert_affine(frame_to_crop), EMBEDDER_SIZE, EMBEDDER_SIZE
    )


class FaceEmbedder:
    """MobileFaceNet: an aligned face to a unit vector of 192 numbers."""

    def __init__(self, runner: ModelRunner) -> None:
        """Use a loaded MobileFaceNet (its batch is fixed at two faces)."""
        runner.expect(
            [(EMBEDDER_BATCH, EMBEDDER_SIZE, EMBEDDER_SIZE, 3)],
            [(EMBEDDER_BATCH, EMBEDDING_SIZE)],
        )
        self.runner = runner

    def embed(self, crops: Sequence[Pixels]) -> npt.NDArray[np.float32]:
        """Embed aligned crops, two per model call; return (N, 192)."""
        embeddings = np.empty((len(crops), EMBEDDING_SIZE), dtype=np.float32)
        batch = np.empty(
            (EMBEDDER_BATCH, EMBEDDER_SIZE, EMBEDDER_SIZE, 3), dtype=np.float32
        )
        for start in range(0, len(crops), EMBEDDER_BATCH):
            pair = list(crops[start : start + EMBEDDER_BATCH])
            count = len(pair)
            # The model takes exactly two faces; a lone face is sent twice.
            while len(pair) < EMBEDDER_BATCH:
                pair.append(pair[0])
            for slot, crop in enumerate(pair):
                normalised_bytes(crop, batch[slot], EMBEDDER_MEAN, EMBEDDER_SCALE)
            (output,) = self.runner.run(batch)
            embeddings[start : start + count] = output[:count]
        norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
        normalised: npt.NDArray[np.float32] = embeddings / np.maximum(norms, 1e-12)
        return normalised
