"""Test where BlazeFace looks in a frame: the whole frame and its squares."""

from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image
import pytest

from custom_components.smart_community.vision.faces import (
    FaceDetection,
    detection_inputs,
    detection_views,
)
from custom_components.smart_community.vision.gallery import FaceGallery
from custom_components.smart_community.vision.pipeline import ModelSet, Recognizer, Task

MEDIA: Final = Path(__file__).parents[2] / "simulator" / "media"
PORTRAIT: Final = MEDIA / "faces" / "barack_obama" / "1.jpg"
BACKDROP_GREY: Final = (118, 118, 112)


@pytest.mark.parametrize(
    ("width", "height", "views"),
    [
        (1920, 1080, [(0, 0, 1920, 1080), (0, 0, 1080, 1080), (840, 0, 1920, 1080)]),
        (1280, 720, [(0, 0, 1280, 720), (0, 0, 720, 720), (560, 0, 1280, 720)]),
        (1080, 1920, [(0, 0, 1080, 1920), (0, 0, 1080, 1080), (0, 840, 1080, 1920)]),
        # Three squares where two would leave a gap.
        (
            2560,
            1080,
            [(0, 0, 2560, 1080), (0, 0, 1080, 1080), (740, 0, 1820, 1080),
             (1480, 0, 2560, 1080)],
        ),
        # 4:3 is looked at whole, and so are enrolment photos of any shape.
        (1280, 960, [(0, 0, 1280, 960)]),
        (182, 336, [(0, 0, 182, 336)]),
    ],
)  # fmt: skip
def test_elongated_large_frames_are_also_looked_at_in_squares(
    width: int, height: int, views: list[tuple[int, int, int, int]]
) -> None:
    """16:9 frames get the whole frame and two squares of their height."""
    assert detection_views(width, height) == views


def frame_with_face(eye_distance: float, centre_x: int) -> tuple[np.ndarray, float]:
    """Paste the portrait into a grey 1080p frame, scaled to an eye distance.

    Returns the frame and the portrait's own eye distance.
    """
    detector = ModelSet().face_detector
    with Image.open(PORTRAIT) as picture:
        portrait = picture.convert("RGB")
    own = max(face.eye_distance for face in detector.detect(np.asarray(portrait)))
    scale = eye_distance / own
    size = (round(portrait.width * scale), round(portrait.height * scale))
    scaled = portrait.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    frame = Image.new("RGB", (1920, 1080), BACKDROP_GREY)
    frame.paste(scaled, (centre_x - size[0] // 2, (1080 - size[1]) // 2))
    return np.asarray(frame), own


def faces_near(faces: list[FaceDetection], x: float) -> list[FaceDetection]:
    """Return the faces whose box centre is within 150 px of x."""
    return [face for face in faces if abs((face.box[0] + face.box[2]) / 2 - x) < 150]


def test_a_distant_face_is_found_in_a_square() -> None:
    """36 px between the eyes at 1080p: 3.6 px in the whole frame's 192, 6.4 in a square's.

    The whole frame alone does not find it: the squares are why.
    """
    frame, _ = frame_with_face(36, 400)
    detector = ModelSet().face_detector
    assert detector.detect(frame) == []
    faces = detector.detect(frame, squares=True)
    assert len(faces) == 1
    assert faces_near(faces, 400) == faces
    assert faces[0].eye_distance == pytest.approx(36, rel=0.25)
    assert [view for _, _, view in detection_inputs(frame, squares=True)] == [
        (0, 0, 1920, 1080),
        (0, 0, 1080, 1080),
        (840, 0, 1920, 1080),
    ]


def test_a_close_face_across_both_squares_is_found_once() -> None:
    """A face wider than the squares' overlap, on the middle line, is the whole frame's."""
    frame, _ = frame_with_face(150, 960)
    faces = ModelSet().face_detector.detect(frame, squares=True)
    assert len(faces) == 1
    left, _, right, _ = faces[0].box
    # Wider than the 240 px both squares share: each square holds part of it.
    assert right - left > 240
    assert left < 840
    assert right > 1080


def test_a_camera_asks_for_distant_faces_through_the_analysis() -> None:
    """The pipeline looks in the squares only when the camera asks for it."""
    frame, _ = frame_with_face(36, 1500)
    recognizer = Recognizer(ModelSet(), FaceGallery())
    assert recognizer.analyse(frame, [Task.FACES]).faces == []
    distant = recognizer.analyse(frame, [Task.FACES], distant_faces=True)
    assert len(distant.faces) == 1
    assert faces_near([face.detection for face in distant.faces], 1500)
