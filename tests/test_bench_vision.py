"""Keep the recognition benchmark and accuracy code working, on a tiny subset.

The measuring functions of ``benchmarks.bench_vision`` and
``benchmarks.accuracy_vision`` run here on a few pictures of the simulator's
media folder (two identities per split, two holdout plates, two samples per
figure) with the real models. Nothing here judges speed: only that every
figure is produced and that the counts behind it add up. The pure helpers
(thresholds, edit distance, percentiles) are checked against values worked
out by hand. Without ``simulator/media/index.json`` the media tests skip.
"""

from collections import Counter
import dataclasses
import json
from math import comb
from pathlib import Path
from typing import Final

import numpy as np
import pytest

from benchmarks import accuracy_vision, bench_vision
from benchmarks.bench_vision import MediaSet
from custom_components.smart_community.vision import plates as plates_module
from custom_components.smart_community.vision.gallery import (
    DEFAULT_THRESHOLD,
    FaceGallery,
)
from custom_components.smart_community.vision.imaging import as_pillow
from custom_components.smart_community.vision.pipeline import (
    ModelName,
    ModelSet,
    Recognizer,
    Task,
)

MEDIA_ROOT: Final = bench_vision.MEDIA_ROOT
SMALL_FRAME: Final = (640, 360)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Skip Home Assistant: only pure code and the simulator run here."""


TINY_PHOTOS_PER_PERSON: Final = 3


def tiny_media() -> MediaSet:
    """Return 3 photos of the person with most per face split and set; 3 plates."""
    if not (MEDIA_ROOT / "index.json").is_file():
        pytest.skip("simulator/media/index.json is not there yet")
    media = bench_vision.load_media(MEDIA_ROOT)
    faces = []
    for split in ("tuning", "holdout"):
        for collection in sorted({photo.collection for photo in media.faces}):
            photos = [
                photo
                for photo in media.face_split(split)
                if photo.collection == collection
            ]
            counts = Counter(photo.identity for photo in photos)
            chosen = {identity for identity, _ in counts.most_common(1)}
            faces += [photo for photo in photos if photo.identity in chosen][
                :TINY_PHOTOS_PER_PERSON
            ]
    plates = media.plate_split("tuning")[:1] + media.plate_split("holdout")[:2]
    return dataclasses.replace(media, faces=tuple(faces), plates=tuple(plates))


@pytest.fixture(scope="module")
def models() -> ModelSet:
    """Share one set of models among the tests of this module (loading is slow)."""
    return ModelSet()


# ---- pure helpers ----


def test_percentile_and_summary() -> None:
    """Percentiles interpolate between ranks; p99 appears from 100 samples."""
    values = [float(number) for number in range(1, 101)]
    assert bench_vision.percentile(values, 50) == pytest.approx(50.5)
    assert bench_vision.percentile(values, 95) == pytest.approx(95.05)
    assert bench_vision.summary(values)["p99"] == pytest.approx(99.01)
    assert "p99" not in bench_vision.summary(values[:99])
    assert bench_vision.summary([3.0])["median"] == 3.0


def test_threshold_at_far() -> None:
    """1 % of 200 impostor pairs may pass: the threshold stays below the third."""
    impostor = [0.5 + 0.005 * number for number in range(200)]
    threshold = accuracy_vision.threshold_at_far(impostor, 0.01)
    assert threshold is not None
    assert impostor[1] <= threshold < impostor[2]
    rates = accuracy_vision.rates([0.4, threshold + 0.01], impostor, threshold)
    assert rates["impostor_accepted"] == "2/200"
    assert rates["genuine_accepted"] == "1/2"
    # Too few pairs to tell 0.1 % from zero.
    assert accuracy_vision.threshold_at_far(impostor, 0.001) is None


def test_edit_distance_and_character_accuracy() -> None:
    """Substitutions, insertions and deletions each cost one."""
    assert accuracy_vision.edit_distance("粤B12345", "粤B12345") == 0
    assert accuracy_vision.edit_distance("沪B12345", "粤B12345") == 1
    assert accuracy_vision.edit_distance("B12345", "粤B12345") == 1
    assert accuracy_vision.edit_distance("", "粤B12345") == 7
    assert accuracy_vision.character_accuracy("粤B1234", "粤B12345") == pytest.approx(
        6 / 7
    )
    assert accuracy_vision.character_accuracy("完全不对的很长的文字", "粤B1") == 0.0


def test_degrade_fits_720p_and_never_enlarges() -> None:
    """A 1080p frame comes back 1280x720; a small one keeps its size."""
    rng = np.random.default_rng(1)
    large = rng.integers(0, 255, (1080, 1920, 3), dtype=np.uint8)
    small = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    assert accuracy_vision.degrade(large).shape == (720, 1280, 3)
    assert accuracy_vision.degrade(small).shape == (240, 320, 3)


# ---- on the media set ----


def test_face_accuracy_counts_add_up(models: ModelSet) -> None:
    """Every portrait is embedded or listed; pairs and searches are all counted."""
    media = tiny_media()
    report = accuracy_vision.face_accuracy(Recognizer(models, FaceGallery()), media)
    missed = {(item["split"], item["identity"]) for item in report["no_face_found"]}
    for split in ("tuning", "holdout"):
        photos = media.face_split(split)
        assert report["photos"][split] == len(photos)
        per_person = Counter(
            photo.identity for photo in photos if (split, photo.identity) not in missed
        )
        embedded = sum(per_person.values())
        genuine = sum(comb(count, 2) for count in per_person.values())
        pairs = report["pairs"][split]
        if not missed:
            assert pairs["genuine"] == genuine
            assert pairs["genuine"] + pairs["impostor"] == comb(embedded, 2)
    # Too few impostor pairs for a FAR of 1 %: the current default stays.
    assert report["thresholds"]["far_1_percent"]["threshold"] is None
    assert report["recommended"]["threshold"] == DEFAULT_THRESHOLD
    for distances in ("tuning_genuine", "holdout_impostor"):
        low, high = (report["distances"][distances][key] for key in ("min", "max"))
        if low is not None:
            assert 0.0 <= low <= high <= 2.0
    open_set = report["open_set_holdout"]["recommended"]
    holdout_people = {photo.identity for photo in media.face_split("holdout")}
    assert open_set["enrolled_people"] == len(holdout_people)
    queries = sum(open_set["enrolled_queries"].values())
    assert queries == len(media.face_split("holdout")) - len(holdout_people)
    strangers = sum(open_set["stranger_queries"].values())
    assert strangers == len(media.face_split("tuning"))
    assert len(report["margins_on_tuning"]) == len(accuracy_vision.MARGINS)
    # Per set: only pairs within the set; every genuine pair is within one set.
    by_set = report["by_set"]
    assert set(by_set) == {photo.collection for photo in media.faces}
    for split in ("tuning", "holdout"):
        assert (
            sum(part["pairs"][split]["genuine"] for part in by_set.values())
            == report["pairs"][split]["genuine"]
        )
        for part in by_set.values():
            embedded = part["faces_embedded"][split]
            pairs = part["pairs"][split]
            assert pairs["genuine"] + pairs["impostor"] == comb(embedded, 2)


def test_faces_in_frames_counts_add_up(models: ModelSet) -> None:
    """Each holdout photo but the enrolled one is a query at every eye distance.

    Close faces are found; nothing is found that was not pasted; the camera's
    gallery is put back.
    """
    media = tiny_media()
    recognizer = Recognizer(models, FaceGallery())
    gallery = recognizer.gallery
    report = accuracy_vision.faces_in_frames(recognizer, media)
    assert recognizer.gallery is gallery
    photos = [
        photo for photo in media.face_split("holdout") if photo.collection == "photos"
    ]
    people = {photo.identity for photo in photos}
    assert report["enrolled_people"] == len(people)
    assert report["query_photos"] == len(photos) - len(people)
    for width, height in accuracy_vision.FRAME_SIZES:
        searches = report[f"{width}x{height}"]
        assert set(searches) == set(accuracy_vision.SEARCHES)
        for by_distance in searches.values():
            assert set(by_distance) == {
                str(eyes) for eyes in accuracy_vision.EYE_DISTANCES
            }
            for counts in by_distance.values():
                assert counts["queries"] <= report["query_photos"]
                assert counts["found"] <= counts["queries"]
                assert (
                    counts["correct"] + counts["unknown"] + counts["wrong"]
                    == counts["found"]
                )
            nearest = by_distance[str(max(accuracy_vision.EYE_DISTANCES))]
            assert nearest["found"] == nearest["queries"] > 0
        # The same frames for both searches.
        for eyes in accuracy_vision.EYE_DISTANCES:
            whole = searches["whole_frame"][str(eyes)]
            distant = searches["distant_faces"][str(eyes)]
            assert whole["queries"] == distant["queries"]


def test_plate_report_counts_and_restores_the_crop_margin(models: ModelSet) -> None:
    """Two holdout plates are tallied clean and degraded; the sweep leaves no trace."""
    media = tiny_media()
    margin = plates_module.CROP_MARGIN
    report = accuracy_vision.plate_report(Recognizer(models, FaceGallery()), media)
    assert margin == plates_module.CROP_MARGIN
    assert report["stills"] == {"tuning": 1, "holdout": 2}
    assert len(report["crop_margin_sweep_tuning"]) == len(accuracy_vision.CROP_MARGINS)
    chosen = report["crop_margin_chosen_on_tuning"]
    assert chosen in accuracy_vision.CROP_MARGINS
    assert ("holdout_with_chosen_margin" in report) == (chosen != margin)
    for condition in ("holdout", "holdout_degraded"):
        groups = report[condition]["by_colour"]
        assert groups["all"]["plates"] == 2
        assert (
            sum(tally["plates"] for colour, tally in groups.items() if colour != "all")
            == 2
        )
        for key in ("exact_accuracy", "detection_rate", "character_accuracy"):
            assert 0.0 <= groups["all"][key] <= 1.0
        wrong = 2 - groups["all"]["exact"]
        assert len(report[condition]["errors"]) == wrong


def test_latency_report_on_small_frames(models: ModelSet) -> None:
    """Both tasks give per-stage figures from two samples and an overhead ratio."""
    media = tiny_media()
    report = bench_vision.latency_report(
        media, models, samples=2, warmup=1, sizes=[SMALL_FRAME], distinct=2
    )
    label = f"{SMALL_FRAME[0]}x{SMALL_FRAME[1]}"
    for task, stages in bench_vision.STAGES.items():
        measured = report[task][label]
        assert set(measured["stages_ms"]) == set(stages)
        assert measured["wall_ms"]["n"] == 2
        assert measured["wall_ms"]["median"] >= measured["pipeline_ms"]["median"] * 0.5
        assert measured["overhead"]["invoke_ms_total"] > 0
        assert isinstance(measured["target_met"], bool)
        assert report["overhead"][task]["wall_over_invoke"] is not None
    distant = report["faces_with_distant_faces"][label]
    assert distant["wall_ms"]["n"] == 2
    assert set(distant["stages_ms"]) == set(bench_vision.STAGES[Task.FACES])
    conversion = report["decode_thread_conversion_ms"][label]
    assert set(conversion) == {"mjpeg_yuvj420p", "yuv420p_yuv420p"}
    for timings in conversion.values():
        assert timings["to_rgb"]["n"] == timings["packed_rgb24"]["n"] == 2


def test_face_frames_hold_the_faces_pasted(models: ModelSet) -> None:
    """Composed frames have the asked size and show the portraits' faces."""
    media = tiny_media()
    frames = bench_vision.face_frames(media, SMALL_FRAME, 3)
    assert [frame.shape for frame in frames] == [(360, 640, 3)] * 3
    # Laid out as the stream reader hands frames over: Pillow maps them.
    assert all(as_pillow(frame).readonly for frame in frames)
    found = [len(models.face_detector.detect(frame)) for frame in frames]
    # Frames hold 1, 2 and 3 portraits in turn.
    assert sum(found) >= 3


def test_gallery_search_finds_real_faces_among_random_ones(models: ModelSet) -> None:
    """The real embeddings are nearest to themselves among 300 random ones."""
    rng = np.random.default_rng(5)
    real = [
        (f"person-{number}", vector)
        for number, vector in enumerate(bench_vision.random_units(4, rng))
    ]
    report = bench_vision.measure_gallery(real, size=300, samples=2, warmup=1)
    assert report["embeddings"] == 300
    assert report["real_faces_nearest_to_themselves"] == "4/4"
    assert report["match_ms"]["n"] == report["first_match_after_add_ms"]["n"] == 2


def test_threads_comparison_gives_both_settings() -> None:
    """Each setting is timed alone and with two callers; a verdict names one."""
    report = bench_vision.measure_threads(
        samples=2, warmup=1, names=[ModelName.FACE_DETECTOR], rounds=1
    )
    detector = report[ModelName.FACE_DETECTOR.removesuffix(".tflite")]
    for threads in ("1", "2"):
        assert detector[threads]["alone_ms"]["n"] == 2
        assert detector[threads]["two_callers_ms"]["n"] == 4
    verdict = bench_vision.threads_verdict(report)
    assert verdict["one_camera"].startswith(("threads=1", "threads=2"))


async def test_one_camera_is_analysed(socket_enabled: None, models: ModelSet) -> None:
    """One simulated camera's frames reach the recognizer and are counted."""
    if not (MEDIA_ROOT / "index.json").is_file():
        pytest.skip("simulator/media/index.json is not there yet")
    report = await bench_vision.measure_cameras(
        MEDIA_ROOT, 1, seconds=3.0, models=models, settle_seconds=1.0
    )
    assert report["cameras"] == 1
    assert report["failures"] == 0
    assert report["analysed_fps_total"] > 0
    assert report["process_cpu_percent"] > 0


def test_parts_choose_what_is_measured() -> None:
    """Parts are read from a comma-separated list; unknown ones are refused."""
    assert bench_vision._parts("latency,cameras") == ["latency", "cameras"]
    with pytest.raises(SystemExit):
        bench_vision.main(["--parts", "latency,speed"])


def test_scenario_names_each_camera(tmp_path: Path) -> None:
    """The written scenario has N door cameras at 1280x720 and 10 fps."""
    path = bench_vision.camera_scenario(tmp_path, tmp_path, 4)
    devices = json.loads(path.read_text(encoding="utf-8"))["devices"]
    assert [device["id"] for device in devices] == [
        f"camera-{number}" for number in range(1, 5)
    ]
    assert {
        (
            device["options"]["width"],
            device["options"]["height"],
            device["options"]["fps"],
        )
        for device in devices
    } == {(1280, 720, 10)}
