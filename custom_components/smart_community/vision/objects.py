"""Objects: NanoDet (COCO, 80 classes) for people, bicycles and motorcycles.

NanoDet predicts, for each cell of three grids (strides 8, 16 and 32), a score
per class and the distances to the box's four sides as distributions over 11
bins (generalised focal loss); the expected bin times the stride is the distance.
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from .imaging import Pixels, model_input, suppress_overlaps
from .runner import ModelContractError, ModelRunner

DETECTOR_SIZE: Final = 416
STRIDES: Final = (8, 16, 32)
BINS: Final = 11
# NanoDet's training normalisation (it takes BGR).
MEAN_RGB: Final = (123.675, 116.28, 103.53)
STD_RGB: Final = (58.395, 57.12, 57.375)
DEFAULT_MIN_SCORE: Final = 0.35
NMS_IOU: Final = 0.5

COCO_LABELS: Final = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck",
    "boat", "traffic light", "fire hydrant", "stop sign", "parking meter", "bench",
    "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
    "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
    "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup",
    "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ObjectDetection:
    """An object found in a frame, in frame pixels."""

    label: str
    score: float
    box: tuple[float, float, float, float]


def _centres(stride: int) -> npt.NDArray[np.float64]:
    """Cell centres of one grid, row by row, in input pixels."""
    cells = DETECTOR_SIZE // stride
    ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
    return (np.stack([xs.ravel(), ys.ravel()], axis=1) + 0.5) * stride


class ObjectDetector:
    """NanoDet-m on a letterboxed 416 x 416 copy of the frame."""

    def __init__(
        self, runner: ModelRunner, *, min_score: float = DEFAULT_MIN_SCORE
    ) -> None:
        """Use a loaded NanoDet; its input may be NCHW or NHWC."""
        (tensor,) = runner.inputs
        if tensor.shape == (1, 3, DETECTOR_SIZE, DETECTOR_SIZE):
            self._channels_first = True
        elif tensor.shape == (1, DETECTOR_SIZE, DETECTOR_SIZE, 3):
            self._channels_first = False
        else:
            raise ModelContractError(f"{runner.path.name}: input {tensor.shape}")
        wanted = {(DETECTOR_SIZE // stride) ** 2 for stride in STRIDES}
        shapes = {spec.shape[1:] for spec in runner.outputs}
        expected = {(cells, len(COCO_LABELS)) for cells in wanted} | {
            (cells, 4 * BINS) for cells in wanted
        }
        if shapes != expected:
            raise ModelContractError(f"{runner.path.name}: outputs {sorted(shapes)}")
        self.runner = runner
        self.min_score = min_score

    def detect(self, image: Pixels) -> list[ObjectDetection]:
        """Find objects in a frame, best first."""
        tensor, placement = model_input(
            image,
            DETECTOR_SIZE,
            mean_rgb=MEAN_RGB,
            std_rgb=STD_RGB,
            bgr=True,
        )
        if self._channels_first:
            tensor = np.ascontiguousarray(tensor.transpose(0, 3, 1, 2))
        outputs = self.runner.run(tensor)
        boxes: list[npt.NDArray[np.float64]] = []
        scores: list[npt.NDArray[np.float64]] = []
        classes: list[npt.NDArray[np.intp]] = []
        for stride in STRIDES:
            cells = (DETECTOR_SIZE // stride) ** 2
            class_scores = _pick(outputs, cells, len(COCO_LABELS))
            distributions = _pick(outputs, cells, 4 * BINS)
            best_class = class_scores.argmax(axis=1)
            best_score = class_scores[np.arange(cells), best_class]
            chosen = np.flatnonzero(best_score >= self.min_score)
            if chosen.size == 0:
                continue
            bins = distributions[chosen].reshape(-1, 4, BINS)
            bins = np.exp(bins - bins.max(axis=2, keepdims=True))
            bins /= bins.sum(axis=2, keepdims=True)
            distances = (bins * np.arange(BINS)).sum(axis=2) * stride
            centres = _centres(stride)[chosen]
            boxes.append(
                np.hstack([centres - distances[:, :2], centres + distances[:, 2:]])
            )
            scores.append(best_score[chosen])
            classes.append(best_class[chosen])
        if not boxes:
            return []
        all_boxes = np.vstack(boxes)
        all_scores = np.concatenate(scores)
        all_classes = np.concatenate(classes)
        found = []
        for index in suppress_overlaps(all_boxes, all_scores, NMS_IOU, all_classes):
            frame_box = placement.to_frame(all_boxes[index].reshape(2, 2)).ravel()
            found.append(
                ObjectDetection(
                    label=COCO_LABELS[all_classes[index]],
                    score=float(all_scores[index]),
                    box=(frame_box[0], frame_box[1], frame_box[2], frame_box[3]),
                )
            )
        return found


def _pick(
    outputs: list[npt.NDArray[np.float32]], cells: int, width: int
) -> npt.NDArray[np.float64]:
    """Return the (cells, width) output; scores become probabilities if raw."""
    for output in outputs:
        if output.shape[1:] == (cells, width):
            values: npt.NDArray[np.float64] = output[0].astype(np.float64)
            if width == len(COCO_LABELS) and (values.min() < 0 or values.max() > 1):
                values = 1.0 / (1.0 + np.exp(-values))
            return values
    raise ModelContractError(f"no output of shape ({cells}, {width})")
