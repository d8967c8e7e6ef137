"""Test loading models: missing runtimes, missing or broken files, wrong contracts."""

from pathlib import Path

import numpy as np
import pytest

from custom_components.smart_community.vision import runner as runner_module
from custom_components.smart_community.vision.faces import FaceDetector, FaceEmbedder
from custom_components.smart_community.vision.gallery import FaceGallery
from custom_components.smart_community.vision.objects import ObjectDetector
from custom_components.smart_community.vision.pipeline import (
    BUNDLED_MODELS,
    ModelName,
    ModelSet,
    NoFaceError,
    Recognizer,
    Task,
    interpreter_threads,
)
from custom_components.smart_community.vision.plates import PlateDetector
from custom_components.smart_community.vision.runner import (
    ModelContractError,
    ModelLoadError,
    ModelRunner,
    RuntimeUnavailableError,
    interpreter_factory,
)


def test_no_runtime_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where neither LiteRT nor tflite-runtime imports, the error says what to install."""
    monkeypatch.setattr(
        runner_module, "INTERPRETER_MODULES", ("no_such_litert.interpreter",)
    )
    with pytest.raises(RuntimeUnavailableError, match="ai-edge-litert"):
        interpreter_factory()


def test_missing_and_broken_model_files(tmp_path: Path) -> None:
    """A missing file and a file that is no model both raise ModelLoadError."""
    with pytest.raises(ModelLoadError, match="does not exist"):
        ModelRunner(tmp_path / "absent.tflite")
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelLoadError, match=r"broken\.tflite"):
        ModelRunner(broken)


def test_models_with_the_wrong_contract_are_refused() -> None:
    """Each part checks the shapes it decodes before any frame arrives."""
    embedder = ModelRunner(BUNDLED_MODELS / ModelName.FACE_EMBEDDER)
    detector = ModelRunner(BUNDLED_MODELS / ModelName.FACE_DETECTOR)
    with pytest.raises(ModelContractError):
        FaceDetector(embedder)
    with pytest.raises(ModelContractError):
        FaceEmbedder(detector)
    with pytest.raises(ModelContractError):
        PlateDetector(detector)
    with pytest.raises(ModelContractError):
        ObjectDetector(detector)
    with pytest.raises(ValueError, match="takes 1 inputs"):
        detector.run()
    with pytest.raises(ModelContractError):
        detector.output_by_shape(
            detector.run(np.zeros((1, 192, 192, 3), np.float32)), 7
        )


def test_a_folder_overrides_only_the_files_it_has(tmp_path: Path) -> None:
    """Own models replace bundled ones by name; missing ones come from the bundle."""
    own = tmp_path / ModelName.PLATE_CHARACTERS
    own.write_text("0\n1\n", "utf-8")
    models = ModelSet(tmp_path)
    assert models.path(ModelName.PLATE_CHARACTERS) == own
    assert (
        models.path(ModelName.FACE_DETECTOR) == BUNDLED_MODELS / ModelName.FACE_DETECTOR
    )
    # The bundled reader has 72 characters; a list of 2 does not fit it.
    with pytest.raises(ModelContractError):
        models.load([Task.PLATES])


def test_a_portrait_without_a_face_is_refused() -> None:
    """Enrolment needs a face; a blank picture has none."""
    models = ModelSet()
    recognizer = Recognizer(models, FaceGallery())
    with pytest.raises(NoFaceError):
        recognizer.embed_portrait(np.full((480, 640, 3), 128, dtype=np.uint8))
    analysis = recognizer.analyse(
        np.full((480, 640, 3), 128, dtype=np.uint8), list(Task)
    )
    assert (analysis.faces, analysis.plates, analysis.objects) == ([], [], [])
    assert set(analysis.timings_ms) >= {
        "face_detection",
        "plate_detection",
        "objects",
        "total",
    }
    # Models load when first needed: no face, no embedder; no plate, no reading.
    runners = {runner.path.name: runner for runner in models.runners()}
    assert set(runners) == {
        ModelName.FACE_DETECTOR,
        ModelName.PLATE_DETECTOR,
        ModelName.PLATE_READER,
        ModelName.OBJECT_DETECTOR,
    }
    assert runners[ModelName.PLATE_READER].invocations == 0
    assert runners[ModelName.OBJECT_DETECTOR].invocations == 1


def test_one_camera_gets_two_threads_per_model_and_more_cameras_one() -> None:
    """A lone camera splits each invoke over both cores; several run side by side."""
    assert interpreter_threads(0) == 2
    assert interpreter_threads(1) == 2
    assert interpreter_threads(2) == 1
    assert interpreter_threads(4) == 1


def test_outputs_are_the_callers_own() -> None:
    """A later call leaves the outputs of an earlier one as they were."""
    detector = ModelRunner(BUNDLED_MODELS / ModelName.FACE_DETECTOR)
    rng = np.random.default_rng(4)
    first = detector.run(rng.uniform(-1, 1, (1, 192, 192, 3)).astype(np.float32))
    kept = [output.copy() for output in first]
    detector.run(rng.uniform(-1, 1, (1, 192, 192, 3)).astype(np.float32))
    assert all(np.array_equal(a, b) for a, b in zip(first, kept, strict=True))
