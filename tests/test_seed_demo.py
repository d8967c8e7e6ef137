"""Test the demo's seed where it depends on the simulator's media."""

import importlib
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image
import pytest

from custom_components.smart_community.vision.gallery import FaceGallery
from custom_components.smart_community.vision.pipeline import ModelSet, Recognizer

# The seed runs as a script from its folder and imports its neighbours so.
SCRIPTS_LIB: Final = Path(__file__).resolve().parents[1] / "scripts" / "lib"


def test_every_demo_face_can_be_enrolled_for_recognition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One photo per person of the media, each with a face enrolment accepts.

    Enrolment refuses a photo without a usable face; one such photo among the
    demo's would stop a fresh demo at its enrolment.
    """
    monkeypatch.syspath_prepend(str(SCRIPTS_LIB))
    seed_demo = importlib.import_module("seed_demo")
    photos = seed_demo.demo_face_photos()
    assert len({photo.parent.name for photo in photos}) == len(photos) > 1
    recognizer = Recognizer(ModelSet(), FaceGallery())
    for photo in photos:
        with Image.open(photo) as picture:
            pixels = np.asarray(picture.convert("RGB"))
        assert recognizer.embed_portrait(pixels).shape == (192,)
