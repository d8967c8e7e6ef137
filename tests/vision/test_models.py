"""Check the committed recognition models: their pins, their shapes and one behaviour each.

The behaviours use pictures rendered here (plates, a uniform grey frame) and,
where a check needs a real face or object photo, the simulator's media folder
(``simulator/media/index.json``); without it those checks are skipped.
"""

from collections.abc import Iterator
import hashlib
import json
from pathlib import Path
import shutil
from typing import Any, Final

from ai_edge_litert.interpreter import Interpreter  # type: ignore[import-untyped]
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont
import pytest

from scripts.lib import models as models_script

ROOT: Final = Path(__file__).resolve().parents[2]
MODELS_DIR: Final = ROOT / "custom_components" / "smart_community" / "vision" / "models"
MEDIA_INDEX: Final = ROOT / "simulator" / "media" / "index.json"
MANIFEST: Final[dict[str, Any]] = json.loads(
    (MODELS_DIR / "models.json").read_text(encoding="utf-8")
)
RECORDS: Final = {record["file"]: record for record in MANIFEST["files"]}
TFLITE_RECORDS: Final = [r for r in MANIFEST["files"] if r["file"].endswith(".tflite")]

GREY: Final = (128, 128, 128)
# ArcFace's 112x112 template: eye on the image's left, the other eye, nose tip, and
# the mouth centre (the mean of its two mouth corners).
ARCFACE_POINTS: Final = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [56.1396, 92.2848]]
)
COCO_CLASSES: Final = {"person": 0, "bicycle": 1, "motorcycle": 3}

type Floats = NDArray[np.float32]


def interpreter(file: str) -> Interpreter:
    """Load one committed model, ready to invoke."""
    loaded = Interpreter(model_path=str(MODELS_DIR / file), num_threads=2)
    loaded.allocate_tensors()
    return loaded


def invoke(model: Interpreter, batch: Floats) -> dict[str, Floats]:
    """Run one batch; returns every output by tensor name."""
    model.reset_all_variables()
    model.set_tensor(model.get_input_details()[0]["index"], batch)
    model.invoke()
    return {d["name"]: model.get_tensor(d["index"]) for d in model.get_output_details()}


def media_index() -> dict[str, Any] | None:
    """Return the simulator's media index, or None while nobody has built it."""
    if not MEDIA_INDEX.is_file():
        return None
    index: dict[str, Any] = json.loads(MEDIA_INDEX.read_text(encoding="utf-8"))
    return index


def media_entries(kind: str) -> list[dict[str, Any]]:
    """Return the media entries of one kind, skipping the test when there are none."""
    index = media_index()
    entries = [] if index is None else index.get(kind, [])
    if not entries:
        pytest.skip(f"simulator/media/index.json lists no {kind} yet")
    return entries


def media_picture(entry: dict[str, Any]) -> Image.Image:
    """Open a media file as RGB."""
    return Image.open(MEDIA_INDEX.parent / entry["file"]).convert("RGB")


# --- pins ---------------------------------------------------------------------


@pytest.mark.parametrize("record", MANIFEST["files"], ids=lambda r: r["file"])
def test_file_matches_its_pin(record: dict[str, Any]) -> None:
    """Every listed file is there with the recorded size and sha256."""
    path = MODELS_DIR / record["file"]
    assert path.stat().st_size == record["bytes"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == record["sha256"]


def test_every_file_in_the_folder_is_listed() -> None:
    """No model file sits in the folder without a pin."""
    listed = set(RECORDS) | {"models.json"}
    assert {path.name for path in MODELS_DIR.iterdir()} <= listed
    assert any(path.suffix == ".tflite" for path in MODELS_DIR.iterdir())


def test_records_say_where_each_file_comes_from() -> None:
    """Every record names its package, its licence and, when converted, how."""
    for record in MANIFEST["files"]:
        assert record["registry"] in {"npm", "pypi"}
        assert len(record["package_sha256"]) == 64
        assert record["licence"]
        assert record["licence_risk"]
        converted = record["file"] in models_script.RECIPES
        assert (record["conversion"] is not None) == converted, record["file"]


def test_check_reports_a_changed_or_unlisted_file(tmp_path: Path) -> None:
    """The offline check finds a flipped byte and a stray model; the real folder is clean."""
    assert models_script.check_files(MANIFEST) == []
    copy = tmp_path / "models"
    shutil.copytree(MODELS_DIR, copy)
    chars = copy / "plate_reader_chars.txt"
    chars.write_bytes(chars.read_bytes().replace(b"A", b"B", 1))
    (copy / "stray.tflite").write_bytes(b"TFL3")
    problems = models_script.check_files(MANIFEST, copy)
    assert any(p.startswith("plate_reader_chars.txt: sha256") for p in problems)
    assert any(p.startswith("stray.tflite: in the folder") for p in problems)


# --- shapes -------------------------------------------------------------------


@pytest.mark.parametrize("record", TFLITE_RECORDS, ids=lambda r: r["file"])
def test_model_loads_with_the_recorded_shapes(record: dict[str, Any]) -> None:
    """LiteRT loads each model, and its tensors are the ones models.json promises."""
    model = interpreter(record["file"])
    inputs = {
        d["name"]: (d["shape"].tolist(), d["dtype"].__name__)
        for d in model.get_input_details()
    }
    outputs = {
        d["name"]: (d["shape"].tolist(), d["dtype"].__name__)
        for d in model.get_output_details()
    }
    assert inputs == {i["name"]: (i["shape"], i["dtype"]) for i in record["inputs"]}
    assert outputs == {o["name"]: (o["shape"], o["dtype"]) for o in record["outputs"]}


# --- face detector ------------------------------------------------------------


def blazeface_input(picture: Image.Image) -> tuple[Floats, float, tuple[int, int]]:
    """Letterbox a picture to 192x192 in [-1, 1]; returns it, its scale and offset."""
    side = max(picture.size)
    square = Image.new("RGB", (side, side))
    offset = ((side - picture.width) // 2, (side - picture.height) // 2)
    square.paste(picture, offset)
    pixels = np.asarray(square.resize((192, 192), Image.Resampling.BILINEAR))
    return (pixels.astype(np.float32) / 127.5 - 1.0)[None], side / 192, offset


def best_face(picture: Image.Image) -> tuple[float, NDArray[np.float64]]:
    """Return the best face score and its 4 keypoints in picture pixels."""
    batch, scale, offset = blazeface_input(picture)
    outputs = invoke(interpreter("face_detection_full_range.tflite"), batch)
    regressors = outputs["reshaped_regressor_face_4"][0]
    logits = outputs["reshaped_classifier_face_4"][0, :, 0]
    best = int(np.argmax(logits))
    cell_y, cell_x = divmod(best, 48)
    anchor = np.array([(cell_x + 0.5) * 4, (cell_y + 0.5) * 4])
    points = anchor + regressors[best, 4:12].reshape(4, 2)
    score = float(1 / (1 + np.exp(-np.clip(logits[best], -100, 100))))
    return score, points * scale - np.array(offset)


def test_face_detector_finds_no_face_in_a_grey_frame() -> None:
    """A uniform picture gives no face score above 0.5."""
    score, _ = best_face(Image.new("RGB", (640, 480), GREY))
    assert score < 0.5


def test_face_detector_finds_the_faces_of_the_media_set() -> None:
    """Each of the first face pictures of the media set has a face above 0.5."""
    faces = media_entries("faces")[:8]
    scores = [best_face(media_picture(face))[0] for face in faces]
    assert min(scores) > 0.5, scores


# --- face embedder ------------------------------------------------------------


def similarity_to_template(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Least-squares similarity transform (Umeyama) from picture points to ArcFace's."""
    source_mean, target_mean = points.mean(0), ARCFACE_POINTS.mean(0)
    source, target = points - source_mean, ARCFACE_POINTS - target_mean
    u, singular, vt = np.linalg.svd(target.T @ source / len(points))
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ sign @ vt
    scale = np.trace(np.diag(singular) @ sign) / source.var(0).sum()
    matrix = np.eye(3)
    matrix[:2, :2] = scale * rotation
    matrix[:2, 2] = target_mean - scale * rotation @ source_mean
    return matrix


def aligned_face(picture: Image.Image) -> Floats:
    """Cut the best face out, aligned to the 112x112 template, normalised for the embedder."""
    _, points = best_face(picture)
    eyes = points[:2][np.argsort(points[:2, 0])]
    matrix = similarity_to_template(np.vstack([eyes, points[2:]]))
    inverse = np.linalg.inv(matrix)[:2].ravel()
    face = picture.transform(
        (112, 112), Image.Transform.AFFINE, tuple(inverse), Image.Resampling.BILINEAR
    )
    return (np.asarray(face, dtype=np.float32) - 127.5) / 128.0


def embeddings(faces: list[Floats]) -> Iterator[Floats]:
    """Embed faces two at a time (the model's fixed batch), L2-normalised."""
    model = interpreter("mobilefacenet.tflite")
    for start in range(0, len(faces), 2):
        pair = faces[start : start + 2]
        batch = np.stack([pair[0], pair[-1]])
        vectors = invoke(model, batch)["embeddings"][: len(pair)]
        yield from vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_face_embedder_batch_slots_are_independent() -> None:
    """A face's embedding does not depend on what shares its batch."""
    rng = np.random.default_rng(5)
    first, second, third = (
        rng.uniform(-1, 1, (112, 112, 3)).astype(np.float32) for _ in range(3)
    )
    model = interpreter("mobilefacenet.tflite")
    with_second = invoke(model, np.stack([first, second]))["embeddings"]
    with_third = invoke(model, np.stack([first, third]))["embeddings"]
    np.testing.assert_allclose(with_second[0], with_third[0], atol=1e-5)
    assert not np.allclose(with_second[1], with_third[1], atol=1e-3)


def test_face_embedder_keeps_one_person_closer_than_two() -> None:
    """Aligned faces of one person are nearer each other than faces of different people."""
    faces = media_entries("faces")
    by_identity: dict[str, list[dict[str, Any]]] = {}
    for face in faces:
        by_identity.setdefault(face["identity"], []).append(face)
    people = [entries[:3] for entries in by_identity.values() if len(entries) >= 2][:5]
    if len(people) < 2:
        pytest.skip("the media set needs two people with two faces each")
    chosen = [face for person in people for face in person]
    vectors = list(embeddings([aligned_face(media_picture(face)) for face in chosen]))
    same: list[float] = []
    different: list[float] = []
    for i, first in enumerate(chosen):
        for j in range(i + 1, len(chosen)):
            distance = float(np.linalg.norm(vectors[i] - vectors[j]))
            (same if first["identity"] == chosen[j]["identity"] else different).append(
                distance
            )
    assert np.mean(same) < np.mean(different), (same, different)


# --- plates -------------------------------------------------------------------


def render_plate(text: str) -> Image.Image:
    """Draw a blue plate with white characters, 440x140 like a real one.

    Pillow's bundled font has no Chinese glyphs, so plates here carry no
    province character.
    """
    plate = Image.new("RGB", (440, 140), (10, 60, 170))
    draw = ImageDraw.Draw(plate)
    draw.rectangle((6, 6, 433, 133), outline=(235, 235, 235), width=4)
    font = ImageFont.load_default(80)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    origin = ((440 - (right - left)) / 2 - left, (140 - (bottom - top)) / 2 - top)
    draw.text(origin, text, font=font, fill=(240, 240, 240))
    return plate


def plate_priors() -> NDArray[np.float64]:
    """Return the detector's priors (cx, cy, w, h), in 640-pixel units, in output order."""
    levels = []
    for step, sizes in ((8, (24, 48)), (16, (96, 192)), (32, (384, 768))):
        cells = 640 // step
        y, x, size = np.meshgrid(
            np.arange(cells), np.arange(cells), sizes, indexing="ij"
        )
        centres = np.stack([(x + 0.5) * step, (y + 0.5) * step, size, size], axis=-1)
        levels.append(centres.reshape(-1, 4))
    return np.concatenate(levels)


def best_plate(
    scene: Image.Image,
) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """Return the best plate's score, box (x1, y1, x2, y2) and 4 corners in a 640x640 scene."""
    bgr = np.asarray(scene, dtype=np.float32)[:, :, ::-1]
    batch = (bgr - np.array([104, 117, 123], dtype=np.float32))[None]
    outputs = invoke(interpreter("plate_detector.tflite"), np.ascontiguousarray(batch))
    scores = outputs["conf"][0, :, 1]
    best = int(np.argmax(scores))
    prior, delta = plate_priors()[best], outputs["loc"][0, best]
    centre = prior[:2] + delta[:2] * 0.1 * prior[2:]
    size = prior[2:] * np.exp(delta[2:] * 0.2)
    box = np.concatenate([centre - size / 2, centre + size / 2])
    corners = prior[:2] + outputs["landms"][0, best].reshape(4, 2) * 0.1 * prior[2:]
    return float(scores[best]), box, corners


def overlap(first: NDArray[np.float64], second: NDArray[np.float64]) -> float:
    """Intersection over union of two boxes."""
    top_left = np.maximum(first[:2], second[:2])
    bottom_right = np.minimum(first[2:], second[2:])
    inter = float(np.prod(np.clip(bottom_right - top_left, 0, None)))
    areas = np.prod(first[2:] - first[:2]) + np.prod(second[2:] - second[:2])
    return inter / float(areas - inter)


def test_plate_detector_finds_a_plate_and_nothing_in_grey() -> None:
    """A rendered plate is found where it was pasted; a grey frame holds none."""
    empty = Image.new("RGB", (640, 640), GREY)
    empty_score, _, _ = best_plate(empty)
    assert empty_score < 0.1
    scene = empty.copy()
    pasted = np.array([230.0, 400.0, 410.0, 457.0])
    scene.paste(render_plate("B·12345").resize((180, 57)), (230, 400))
    score, box, _ = best_plate(scene)
    assert score > 0.5
    assert overlap(box, pasted) > 0.5, box


def test_plate_detector_gives_corners_bottom_right_first() -> None:
    """The corners come bottom-right, bottom-left, top-left, top-right (MODELS.md)."""
    plate = render_plate("A·8Y6R2").resize((200, 64)).convert("RGBA")
    # Tilted 12 degrees, so that no corner could pass for another.
    tilted = plate.rotate(12, expand=True, resample=Image.Resampling.BICUBIC)
    scene = Image.new("RGB", (640, 640), GREY)
    scene.paste(tilted, (200, 300), tilted)
    angle = np.deg2rad(12)
    rotation = np.array(
        [[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]]
    )
    centre = np.array([200 + tilted.width / 2, 300 + tilted.height / 2])
    half = np.array([[100, 32], [-100, 32], [-100, -32], [100, -32]])
    expected = half @ rotation.T + centre
    score, _, corners = best_plate(scene)
    assert score > 0.5
    assert np.abs(corners - expected).max() < 15, corners.round(1)


def read_plate(model: Interpreter, plate: Image.Image, *, reset: bool = True) -> str:
    """Read a plate crop with the CRNN and greedy CTC decoding."""
    chars = (
        (MODELS_DIR / "plate_reader_chars.txt").read_text(encoding="utf-8").splitlines()
    )
    width = min(160, round(plate.width * 32 / plate.height))
    pixels = plate.convert("RGB").resize((width, 32), Image.Resampling.BILINEAR)
    batch = np.zeros((1, 32, 160, 3), dtype=np.float32)
    batch[0, :, :width] = np.asarray(pixels, dtype=np.float32)[:, :, ::-1] / 127.5 - 1
    if reset:
        model.reset_all_variables()
    model.set_tensor(model.get_input_details()[0]["index"], batch)
    model.invoke()
    classes = model.get_tensor(model.get_output_details()[0]["index"])[0].argmax(-1)
    text, previous = [], 0
    for index in classes:
        if index not in {0, previous}:
            text.append(chars[index - 1])
        previous = index
    return "".join(text)


@pytest.mark.parametrize("text", ["B·12345", "A·8Y6R2", "D·5K0J7"])
def test_plate_reader_reads_a_rendered_plate(text: str) -> None:
    """The letters and digits after the province are read exactly."""
    expected = text.replace("·", "")
    read = read_plate(interpreter("plate_reader.tflite"), render_plate(text))
    assert read.endswith(expected), read


def test_plate_reader_needs_its_state_reset_between_plates() -> None:
    """With a reset each read is the same; without one the LSTM state carries over."""
    model = interpreter("plate_reader.tflite")
    plates = [render_plate(text) for text in ("A·8Y6R2", "D·5K0J7", "B·12345")]
    reads = [read_plate(model, plate) for plate in plates]
    assert [read_plate(model, plate) for plate in plates] == reads
    batch = np.zeros((1, 32, 160, 3), dtype=np.float32)
    model.reset_all_variables()
    first = invoke_without_reset(model, batch)
    second = invoke_without_reset(model, batch)
    assert np.abs(first - second).max() > 1e-3


def invoke_without_reset(model: Interpreter, batch: Floats) -> Floats:
    """Invoke and return the only output, leaving the variable tensors as they are."""
    model.set_tensor(model.get_input_details()[0]["index"], batch)
    model.invoke()
    output: Floats = model.get_tensor(model.get_output_details()[0]["index"])
    return output


# --- objects ------------------------------------------------------------------


def class_scores(picture: Image.Image) -> Floats:
    """Return the best score of each of the 80 COCO classes over the whole picture."""
    bgr = np.asarray(
        picture.resize((416, 416), Image.Resampling.BILINEAR), dtype=np.float32
    )[:, :, ::-1]
    mean = np.array([103.53, 116.28, 123.675], dtype=np.float32)
    std = np.array([57.375, 57.12, 58.395], dtype=np.float32)
    batch = ((bgr - mean) / std).transpose(2, 0, 1)[None]
    outputs = invoke(interpreter("coco_detector.tflite"), np.ascontiguousarray(batch))
    scores = [output[0] for output in outputs.values() if output.shape[-1] == 80]
    best: Floats = np.concatenate(scores).max(axis=0)
    return best


def test_object_detector_finds_nothing_in_grey() -> None:
    """A uniform frame scores below 0.3 for every class."""
    assert class_scores(Image.new("RGB", (640, 480), GREY)).max() < 0.3


def test_object_detector_finds_the_labelled_people_and_vehicles() -> None:
    """Most media photos labelled with a person, bicycle or motorcycle score it above 0.4."""
    entries = [
        entry
        for entry in media_entries("objects")
        if COCO_CLASSES.keys() & set(entry["labels"])
    ][:8]
    if not entries:
        pytest.skip("no media photo is labelled person, bicycle or motorcycle")
    found = []
    for entry in entries:
        scores = class_scores(media_picture(entry))
        labels = COCO_CLASSES.keys() & set(entry["labels"])
        found.append(max(scores[COCO_CLASSES[label]] for label in labels) > 0.4)
    assert sum(found) * 2 >= len(found), list(
        zip([e["file"] for e in entries], found, strict=True)
    )
