"""Faces: BlazeFace full-range detection, alignment, MobileFaceNet embeddings.

BlazeFace finds faces with six keypoints in the whole frame and, where a
camera asks for distant faces, in squares of a wide frame too. Four of the
keypoints (both eyes, nose tip, mouth centre) map the face onto the 112 x 112
ArcFace template by a similarity transform; MobileFaceNet only separates
people reliably on faces aligned that way (a plain square crop barely does).
Embeddings are L2-normalised, so the distance between two faces is between 0
and 2.
"""

from collections.abc import Sequence
from dataclasses import dataclass
import math
from typing import Final

import numpy as np
import numpy.typing as npt

from .imaging import (
    Letterbox,
    Pixels,
    Points,
    Region,
    as_pillow,
    fit,
    invert_affine,
    letterbox_tensor,
    normalised_bytes,
    overview,
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
# Frames this elongated and this long are also looked at in squares
# (detection_views); enrolment photos and small frames are not.
TILE_MIN_ASPECT: Final = 1.5
TILE_MIN_SIDE: Final = 960
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
    """BlazeFace full range on letterboxed 192 x 192 copies of a frame's views.

    The views (``detection_views``) are the whole frame and, for a wide
    camera frame, squares of it; their faces are merged into one list.
    """

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

    def detect(self, image: Pixels, *, squares: bool = False) -> list[FaceDetection]:
        """Find the faces in a frame, best first; with ``squares``, farther ones too."""
        found = [
            self._candidates(image.shape[:2], picture, placement, view)
            for picture, placement, view in detection_inputs(image, squares=squares)
        ]
        boxes = np.concatenate([candidates[0] for candidates in found])
        if boxes.size == 0:
            return []
        keypoints = np.concatenate([candidates[1] for candidates in found])
        scores = np.concatenate([candidates[2] for candidates in found])
        return [
            FaceDetection(
                box=(box[0], box[1], box[2], box[3]), score=score, keypoints=keys
            )
            for box, keys, score in _weighted_nms(boxes, keypoints, scores)
        ]

    def _candidates(
        self,
        frame_shape: tuple[int, ...],
        picture: Pixels,
        placement: Letterbox,
        view: Region,
    ) -> tuple[Points, Points, npt.NDArray[np.float64]]:
        """Run the model on one view: boxes, keypoints and scores in frame pixels.

        A face cut by an edge of the view that lies inside the frame is left
        out: another view holds all of it.
        """
        tensor, _ = letterbox_tensor(
            picture,
            placement,
            DETECTOR_SIZE,
            mean_rgb=PIXEL_MIDDLE,
            std_rgb=PIXEL_MIDDLE,
        )
        outputs = self.runner.run(tensor)
        regressors = self.runner.output_by_shape(outputs, DETECTOR_VALUES)[0]
        raw_scores = self.runner.output_by_shape(outputs, 1)[0, :, 0]
        # The sigmoid rises: compare raw scores with the minimum's logit, and
        # take the sigmoid of the few anchors above it only.
        chosen = np.flatnonzero(raw_scores >= self._min_logit)
        clipped = np.clip(raw_scores[chosen], -SCORE_CLIP, SCORE_CLIP)
        scores = 1.0 / (1.0 + np.exp(-clipped.astype(np.float64)))
        values = regressors[chosen].astype(np.float64)
        anchors = _ANCHORS[chosen] * DETECTOR_SIZE
        centres = values[:, 0:2] + anchors
        halves = values[:, 2:4] / 2
        boxes = placement.to_frame(
            np.stack([centres - halves, centres + halves], axis=1)
        ).reshape(-1, 4)
        keypoints = placement.to_frame(
            values[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
        )
        height, width = frame_shape[:2]
        left, top, right, bottom = view
        cut = np.zeros(len(boxes), dtype=np.bool_)
        if left > 0:
            cut |= boxes[:, 0] < left
        if top > 0:
            cut |= boxes[:, 1] < top
        if right < width:
            cut |= boxes[:, 2] > right
        if bottom < height:
            cut |= boxes[:, 3] > bottom
        return boxes[~cut], keypoints[~cut], scores[~cut]


def detection_views(width: int, height: int) -> list[Region]:
    """Return the parts of a frame BlazeFace looks at: the whole, and squares.

    The model sees 192 x 192 pixels. A 16:9 frame fitted whole fills 192 x 108
    of it, so a face 40 px between the eyes at 1080p is 4 px there and mostly
    missed. A frame at least TILE_MIN_ASPECT times as wide as high (or high as
    wide), and TILE_MIN_SIDE long, is also looked at as squares of its short
    side, from one end to the other, overlapping evenly: two for 16:9, which
    show faces 1.8 times larger. The whole frame still finds the faces too
    large for the squares' overlap. Each view is one model call (2 ms).
    """
    whole = (0, 0, width, height)
    short, long = min(width, height), max(width, height)
    if long < TILE_MIN_ASPECT * short or long < TILE_MIN_SIDE:
        return [whole]
    count = math.ceil(long / short)
    step = (long - short) / (count - 1)
    starts = [round(number * step) for number in range(count)]
    if width >= height:
        return [whole, *((start, 0, start + short, height) for start in starts)]
    return [whole, *((0, start, width, start + short) for start in starts)]


def detection_inputs(
    image: Pixels, *, squares: bool
) -> list[tuple[Pixels, Letterbox, Region]]:
    """Fit each view of a frame into the detector's square, with its placement.

    With squares, the frame is reduced once so that its short side fills the
    square (``overview``): each square is then a slice of it, and the whole
    frame a small reduction of it. Fitting each 1080 x 1080 square on its own
    cost 1.5-2 ms, three times what the whole frame cost.
    """
    height, width = image.shape[:2]
    views = detection_views(width, height) if squares else [(0, 0, width, height)]
    if len(views) == 1:
        picture, placement = fit(image, DETECTOR_SIZE)
        return [(picture, placement, views[0])]
    small, scale = overview(image, DETECTOR_SIZE)
    # The whole frame is the overview halved (0.06 ms; a bilinear fit took
    # 0.4): it only has to find the faces too large for the squares, which
    # stay over 20 px there.
    whole = np.asarray(as_pillow(small).reduce(2))[:, :, :3]
    whole_height, whole_width = whole.shape[:2]
    inputs = [
        (
            whole,
            Letterbox(
                scale=scale * whole_width / small.shape[1],
                pad_x=(DETECTOR_SIZE - whole_width) // 2,
                pad_y=(DETECTOR_SIZE - whole_height) // 2,
            ),
            views[0],
        )
    ]
    for view in views[1:]:
        left, top = round(view[0] * scale), round(view[1] * scale)
        square = small[top : top + DETECTOR_SIZE, left : left + DETECTOR_SIZE]
        picture, placed = fit(square, DETECTOR_SIZE)
        placement = Letterbox(
            scale=placed.scale * scale,
            pad_x=placed.pad_x,
            pad_y=placed.pad_y,
            origin_x=left / scale,
            origin_y=top / scale,
        )
        inputs.append((picture, placement, view))
    return inputs


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
