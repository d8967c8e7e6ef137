"""Measure how well on-premise recognition recognises faces and reads plates.

Run with ``python -m benchmarks.accuracy_vision``; it prints one JSON object
on stdout and its progress on stderr. The labelled pictures are the
simulator's media folder (``simulator/media/index.json``), whose faces and
plates are split into ``tuning`` and ``holdout``: thresholds are chosen on
tuning only and then judged on holdout, whose people are never in tuning.

Faces: every portrait is embedded with ``Recognizer.embed_portrait`` (the
enrolment path: largest face, aligned). Portraits where no usable face is
found are listed, not dropped silently. Within a split every pair of
embeddings is genuine (same identity) or impostor (different identities).
The threshold is the largest distance that keeps the tuning FAR at or below
1 % (and 0.1 % when there are at least 1,000 impostor pairs to tell; the
lowest FAR that can be told is the recommended one, as a match opens a door); on
holdout it gives a TAR and a measured FAR, each with its pair counts. This
is done over all faces and again per set (index.json's ``set``: ``photos``
cropped from real photos, ``aligned_chips`` that their package had already
cut out and aligned, which are far easier): a set's figures use only pairs
of two faces of that set, with the threshold chosen on that set's tuning
pairs, and also at the overall recommended threshold. The open-set 1:N
figure (all sets) enrols one photo per holdout identity in a
``FaceGallery`` with the recommended threshold and margin and queries the
other holdout photos (who should be found) and the tuning photos
(strangers, who should be unknown).

Faces in camera frames: the holdout's real photos, one enrolled per person,
the others pasted into 720p and 1080p frames of the door scene at 16 to 80
pixels between the eyes and recognised as a camera would (``analyse``, the
gallery's default threshold and margin): found, correct, unknown and wrong per
distance, searching the whole frame and with the camera option "distant
faces" (also squares of the frame), on the same frames. This is how near a
resident must come to be recognised.

Plates: each holdout still goes through ``Recognizer.analyse(..., [PLATES])``
once; the read with the best confidence is the frame's answer. Reported per
colour (green plates have 8 characters): exact-text accuracy, detection rate
(a detection on the plate), and character accuracy (1 - edit distance /
length). Again after a light degradation: scaled to fit 1280x720 and
re-encoded as JPEG at quality 60. The tuning stills choose the reader's crop
margin.
"""

import argparse
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
import contextlib
from dataclasses import dataclass
import io
from itertools import combinations
import json
import math
from pathlib import Path
import platform
import random
import statistics
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from benchmarks.bench_vision import (
    FRAME_SEED,
    MEDIA_ROOT,
    FacePhoto,
    MediaSet,
    PlatePhoto,
    as_stream_frame,
    cover,
    load_average,
    load_media,
    log,
    read_rgb,
)
from custom_components.smart_community.vision import plates as plates_module
from custom_components.smart_community.vision.gallery import (
    DEFAULT_MARGIN,
    DEFAULT_THRESHOLD,
    FaceGallery,
)
from custom_components.smart_community.vision.imaging import Pixels
from custom_components.smart_community.vision.pipeline import (
    Analysis,
    ModelSet,
    NoFaceError,
    Recognizer,
    Task,
)
from custom_components.smart_community.vision.plates import PlateDetection

type Vector = npt.NDArray[np.float32]

FAR_TARGETS: Final = (0.01, 0.001)
# Thresholds reported as a table, so the choice can be seen in context.
THRESHOLD_TABLE: Final = tuple(round(0.80 + 0.05 * step, 2) for step in range(9))
MARGINS: Final = (0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.15)
CROP_MARGINS: Final = (0.0, 0.03, 0.06, 0.09, 0.12)
# The degraded condition: what a 720p sub-stream with strong compression gives.
DEGRADED_SIZE: Final = (1280, 720)
DEGRADED_QUALITY: Final = 60
# A detection counts as the plate when its box overlaps the plate's this much.
PLATE_IOU: Final = 0.3
# Reads listed in the report to show what goes wrong.
MAX_LISTED_ERRORS: Final = 25
DISTANCE_DIGITS: Final = 4
# Pixels between the eyes for faces pasted into camera frames: from a face the
# pipeline just matches (MIN_EYE_DISTANCE is 20) to one close to the camera.
EYE_DISTANCES: Final = (16, 20, 24, 28, 32, 40, 48, 64, 80)
FRAME_SIZES: Final = ((1280, 720), (1920, 1080))
# How a camera searches a frame for faces: the whole frame, or with the
# "distant faces" option also its squares.
SEARCHES: Final = {"whole_frame": False, "distant_faces": True}


# ---- faces ----


@dataclass(frozen=True, slots=True)
class Embedded:
    """A portrait and its embedding."""

    photo: FacePhoto
    vector: Vector


def embed_photos(
    recognizer: Recognizer, photos: Iterable[FacePhoto]
) -> tuple[list[Embedded], list[dict[str, str]]]:
    """Embed each portrait; return the embedded and the ones with no usable face."""
    embedded: list[Embedded] = []
    missed: list[dict[str, str]] = []
    for photo in photos:
        try:
            vector = recognizer.embed_portrait(read_rgb(photo.file))
        except NoFaceError as err:
            missed.append(
                {
                    "file": photo.file.name,
                    "identity": photo.identity,
                    "split": photo.split,
                    "set": photo.collection,
                    "reason": str(err),
                }
            )
            continue
        embedded.append(Embedded(photo, vector))
    return embedded, missed


def distance(first: Vector, second: Vector) -> float:
    """Return the L2 distance between two embeddings."""
    return float(np.linalg.norm(first - second))


def pair_distances(embedded: Sequence[Embedded]) -> tuple[list[float], list[float]]:
    """Return the genuine and the impostor distances of every pair."""
    genuine: list[float] = []
    impostor: list[float] = []
    for first, second in combinations(embedded, 2):
        same = first.photo.identity == second.photo.identity
        (genuine if same else impostor).append(distance(first.vector, second.vector))
    return genuine, impostor


def threshold_at_far(impostor: Sequence[float], far: float) -> float | None:
    """Return the largest threshold (3 decimals) whose FAR is at most ``far``.

    A face is accepted at ``distance <= threshold``. With ``m`` impostor pairs,
    ``floor(far * m)`` of them may be accepted, so the threshold stays below the
    next one. None when ``m`` is too small for ``far`` to be told from zero.
    """
    if len(impostor) < math.ceil(1 / far):
        return None
    allowed = math.floor(far * len(impostor))
    ordered = sorted(impostor)
    if allowed >= len(ordered):
        return round(ordered[-1], 3)
    limit = ordered[allowed]
    # Just under the first impostor that must be refused.
    return math.floor(limit * 1000 - 1e-6) / 1000


def rates(
    genuine: Sequence[float], impostor: Sequence[float], threshold: float
) -> dict[str, Any]:
    """Return TAR and FAR at a threshold, with the counts behind them."""
    accepted_genuine = sum(value <= threshold for value in genuine)
    accepted_impostor = sum(value <= threshold for value in impostor)
    return {
        "threshold": threshold,
        "tar": round(accepted_genuine / len(genuine), 4) if genuine else None,
        "far": round(accepted_impostor / len(impostor), 4) if impostor else None,
        "genuine_accepted": f"{accepted_genuine}/{len(genuine)}",
        "impostor_accepted": f"{accepted_impostor}/{len(impostor)}",
    }


def _distribution(values: Sequence[float]) -> dict[str, float | int | None]:
    """Return count, min, median and max of some distances."""
    if not values:
        return {"n": 0, "min": None, "median": None, "max": None}
    return {
        "n": len(values),
        "min": round(min(values), DISTANCE_DIGITS),
        "median": round(statistics.median(values), DISTANCE_DIGITS),
        "max": round(max(values), DISTANCE_DIGITS),
    }


def _gallery(
    embedded: Iterable[Embedded], threshold: float, margin: float
) -> FaceGallery:
    """Enrol embeddings by identity."""
    gallery = FaceGallery(threshold=threshold, margin=margin)
    for item in embedded:
        gallery.add(item.photo.identity, item.vector)
    return gallery


@dataclass(slots=True)
class SearchCounts:
    """Outcomes of 1:N searches."""

    correct: int = 0
    unknown: int = 0
    wrong: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counts."""
        return {"correct": self.correct, "unknown": self.unknown, "wrong": self.wrong}


def search(gallery: FaceGallery, queries: Iterable[Embedded]) -> SearchCounts:
    """Query enrolled people: found is correct, unknown or someone else is not."""
    counts = SearchCounts()
    for query in queries:
        found = gallery.match(query.vector).person_id
        if found is None:
            counts.unknown += 1
        elif found == query.photo.identity:
            counts.correct += 1
        else:
            counts.wrong += 1
    return counts


def search_strangers(
    gallery: FaceGallery, strangers: Iterable[Embedded]
) -> dict[str, int]:
    """Query people who are not enrolled: unknown is right, any name is a false accept."""
    outcome = {"unknown": 0, "accepted": 0}
    for stranger in strangers:
        found = gallery.match(stranger.vector).person_id
        outcome["unknown" if found is None else "accepted"] += 1
    return outcome


def leave_one_out(
    embedded: Sequence[Embedded], threshold: float, margin: float
) -> dict[str, Any]:
    """Query each photo against all the others of its split.

    A photo whose person has other photos should be found (genuine search);
    one whose person has none should be unknown (stranger search).
    """
    genuine = SearchCounts()
    strangers = {"unknown": 0, "accepted": 0}
    for index, query in enumerate(embedded):
        others = [item for number, item in enumerate(embedded) if number != index]
        gallery = _gallery(others, threshold, margin)
        if query.photo.identity in gallery.people:
            outcome = search(gallery, [query])
            genuine.correct += outcome.correct
            genuine.unknown += outcome.unknown
            genuine.wrong += outcome.wrong
        else:
            for key, value in search_strangers(gallery, [query]).items():
                strangers[key] += value
    return {"genuine": genuine.as_dict(), "strangers": strangers}


def genuine_gaps(embedded: Sequence[Embedded]) -> list[dict[str, Any]]:
    """For each photo with a twin, its distance to the twin and to the next person."""
    gaps = []
    for index, query in enumerate(embedded):
        same = [
            distance(query.vector, other.vector)
            for number, other in enumerate(embedded)
            if number != index and other.photo.identity == query.photo.identity
        ]
        if not same:
            continue
        others = [
            distance(query.vector, other.vector)
            for other in embedded
            if other.photo.identity != query.photo.identity
        ]
        gaps.append(
            {
                "identity": query.photo.identity,
                "file": query.photo.file.name,
                "to_same": round(min(same), DISTANCE_DIGITS),
                "to_nearest_other": round(min(others), DISTANCE_DIGITS)
                if others
                else None,
            }
        )
    return gaps


def degrade(image: Pixels) -> Pixels:
    """Scale down to fit 1280x720 (never up) and re-encode as JPEG quality 60."""
    picture = Image.fromarray(image)
    scale = min(
        1.0, DEGRADED_SIZE[0] / picture.width, DEGRADED_SIZE[1] / picture.height
    )
    if scale < 1.0:
        picture = picture.resize(
            (round(picture.width * scale), round(picture.height * scale)),
            Image.Resampling.BILINEAR,
        )
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=DEGRADED_QUALITY)
    buffer.seek(0)
    with Image.open(buffer) as reloaded:
        return np.asarray(reloaded.convert("RGB"))


def variant_distances(
    recognizer: Recognizer, embedded: Sequence[Embedded]
) -> tuple[list[float], int]:
    """Embed a half-size, JPEG-60 copy of each portrait; return distances to it.

    These are the same photo twice, so they bound from above what a second
    photo of the person would give; they only add samples where real second
    photos are few. Also returns how many copies had no usable face.
    """
    distances = []
    missed = 0
    for item in embedded:
        image = read_rgb(item.photo.file)
        half = np.asarray(
            Image.fromarray(image).resize(
                (max(1, image.shape[1] // 2), max(1, image.shape[0] // 2)),
                Image.Resampling.BILINEAR,
            )
        )
        try:
            vector = recognizer.embed_portrait(degrade(half))
        except NoFaceError:
            missed += 1
            continue
        distances.append(distance(item.vector, vector))
    return distances, missed


def choose_thresholds(
    tuning: tuple[Sequence[float], Sequence[float]],
    holdout: tuple[Sequence[float], Sequence[float]],
) -> dict[str, Any]:
    """Choose a threshold per FAR target on tuning; rate it on both splits.

    ``tuning`` and ``holdout`` are (genuine, impostor) distances.
    """
    thresholds: dict[str, Any] = {}
    for far in FAR_TARGETS:
        chosen = threshold_at_far(tuning[1], far)
        key = f"far_{far * 100:g}_percent"
        if chosen is None:
            thresholds[key] = {
                "threshold": None,
                "why": f"{len(tuning[1])} impostor pairs cannot show a FAR of "
                f"{far:.1%} (at least {math.ceil(1 / far)} needed)",
            }
            continue
        thresholds[key] = {
            "threshold": chosen,
            "tuning": rates(*tuning, chosen),
            "holdout": rates(*holdout, chosen),
        }
    return thresholds


def set_report(
    tuning: Sequence[Embedded],
    holdout: Sequence[Embedded],
    missed: Sequence[dict[str, str]],
    overall_threshold: float,
) -> dict[str, Any]:
    """Report one set's faces: counts, pairs, distances and thresholds.

    Only pairs of two faces of this set count; the threshold is chosen on
    this set's tuning pairs, and the overall recommended one is rated too.
    """
    tuning_pairs = pair_distances(tuning)
    holdout_pairs = pair_distances(holdout)
    return {
        "faces_embedded": {"tuning": len(tuning), "holdout": len(holdout)},
        "identities": {
            "tuning": len({item.photo.identity for item in tuning}),
            "holdout": len({item.photo.identity for item in holdout}),
        },
        "no_face_found": len(missed),
        "pairs": {
            "tuning": {
                "genuine": len(tuning_pairs[0]),
                "impostor": len(tuning_pairs[1]),
            },
            "holdout": {
                "genuine": len(holdout_pairs[0]),
                "impostor": len(holdout_pairs[1]),
            },
        },
        "distances": {
            "tuning_genuine": _distribution(tuning_pairs[0]),
            "tuning_impostor": _distribution(tuning_pairs[1]),
            "holdout_genuine": _distribution(holdout_pairs[0]),
            "holdout_impostor": _distribution(holdout_pairs[1]),
        },
        "thresholds": choose_thresholds(tuning_pairs, holdout_pairs),
        "at_overall_recommended_threshold": {
            "tuning": rates(*tuning_pairs, overall_threshold),
            "holdout": rates(*holdout_pairs, overall_threshold),
        },
    }


def face_accuracy(recognizer: Recognizer, media: MediaSet) -> dict[str, Any]:
    """Tune the threshold and margin on tuning, judge them on holdout."""
    log("faces: embedding the portraits")
    tuning, tuning_missed = embed_photos(recognizer, media.face_split("tuning"))
    holdout, holdout_missed = embed_photos(recognizer, media.face_split("holdout"))
    tuning_genuine, tuning_impostor = pair_distances(tuning)
    holdout_genuine, holdout_impostor = pair_distances(holdout)

    thresholds = choose_thresholds(
        (tuning_genuine, tuning_impostor), (holdout_genuine, holdout_impostor)
    )
    # The recommended threshold: the lowest FAR tuning can tell (a match opens
    # a door), or the current default when tuning cannot even tell 1 %.
    threshold = next(
        (
            chosen
            for far in sorted(FAR_TARGETS)
            if (chosen := thresholds[f"far_{far * 100:g}_percent"].get("threshold"))
        ),
        DEFAULT_THRESHOLD,
    )

    margins = [
        {"margin": margin, **leave_one_out(tuning, threshold, margin)}
        for margin in MARGINS
    ]
    margin = _choose_margin(margins)

    # Tuning people are never enrolled here: each of their photos is a
    # stranger at the door, who should come out unknown.
    strangers = tuning
    enrolled: dict[str, Embedded] = {}
    queries: list[Embedded] = []
    for item in sorted(holdout, key=lambda item: item.photo.file.name):
        if item.photo.identity in enrolled:
            queries.append(item)
        else:
            enrolled[item.photo.identity] = item
    open_set: dict[str, Any] = {}
    for label, (use_threshold, use_margin) in {
        "recommended": (threshold, margin),
        "current_defaults": (DEFAULT_THRESHOLD, DEFAULT_MARGIN),
    }.items():
        gallery = _gallery(enrolled.values(), use_threshold, use_margin)
        open_set[label] = {
            "threshold": use_threshold,
            "margin": use_margin,
            "enrolled_people": len(enrolled),
            "enrolled_queries": search(gallery, queries).as_dict(),
            "stranger_queries": search_strangers(gallery, strangers),
        }

    variants, variants_missed = variant_distances(recognizer, holdout)
    collections = sorted({photo.collection for photo in media.faces})
    by_set = {
        collection: set_report(
            [item for item in tuning if item.photo.collection == collection],
            [item for item in holdout if item.photo.collection == collection],
            [
                miss
                for miss in tuning_missed + holdout_missed
                if miss["set"] == collection
            ],
            threshold,
        )
        for collection in collections
    }
    return {
        "photos": {
            "tuning": len(media.face_split("tuning")),
            "holdout": len(media.face_split("holdout")),
            "identities_tuning": len({p.identity for p in media.face_split("tuning")}),
            "identities_holdout": len(
                {p.identity for p in media.face_split("holdout")}
            ),
        },
        "no_face_found_count": {
            "tuning": len(tuning_missed),
            "holdout": len(holdout_missed),
        },
        "no_face_found": tuning_missed + holdout_missed,
        "pairs": {
            "tuning": {
                "genuine": len(tuning_genuine),
                "impostor": len(tuning_impostor),
            },
            "holdout": {
                "genuine": len(holdout_genuine),
                "impostor": len(holdout_impostor),
            },
        },
        "distances": {
            "tuning_genuine": _distribution(tuning_genuine),
            "tuning_impostor": _distribution(tuning_impostor),
            "holdout_genuine": _distribution(holdout_genuine),
            "holdout_impostor": _distribution(holdout_impostor),
            "lowest_impostors_tuning": [
                round(value, DISTANCE_DIGITS) for value in sorted(tuning_impostor)[:5]
            ],
            "lowest_impostors_holdout": [
                round(value, DISTANCE_DIGITS) for value in sorted(holdout_impostor)[:5]
            ],
        },
        "thresholds": thresholds,
        "threshold_table": [
            {
                "threshold": value,
                "tuning": rates(tuning_genuine, tuning_impostor, value),
                "holdout": rates(holdout_genuine, holdout_impostor, value),
            }
            for value in THRESHOLD_TABLE
        ],
        "genuine_gaps": {
            "tuning": genuine_gaps(tuning),
            "holdout": genuine_gaps(holdout),
        },
        "margins_on_tuning": margins,
        "open_set_holdout": open_set,
        "same_photo_variants_holdout": {
            "what": "each holdout portrait vs its own half-size JPEG-60 copy",
            "distances": _distribution(variants),
            "accepted_at_threshold": f"{sum(v <= threshold for v in variants)}/{len(variants)}",
            "no_face_found": variants_missed,
        },
        "recommended": {"threshold": threshold, "margin": margin},
        "by_set": by_set,
    }


def _choose_margin(margins: Sequence[dict[str, Any]]) -> float:
    """Take the margin nearest the current default among the best on tuning.

    Best means finding the most tuning twins while accepting the fewest
    strangers. Where several margins tie (a small set often cannot tell them
    apart) the data gives no reason to move, so the one nearest the default
    is kept.
    """
    best_found = max(row["genuine"]["correct"] for row in margins)
    fewest_accepted = min(row["strangers"]["accepted"] for row in margins)
    candidates = [
        row["margin"]
        for row in margins
        if row["genuine"]["correct"] == best_found
        and row["strangers"]["accepted"] == fewest_accepted
    ]
    # No candidate keeps both: keep finding residents, the threshold guards strangers.
    if not candidates:
        candidates = [
            row["margin"] for row in margins if row["genuine"]["correct"] == best_found
        ]
    return float(min(candidates, key=lambda margin: abs(margin - DEFAULT_MARGIN)))


# ---- plates ----


def edit_distance(first: str, second: str) -> int:
    """Return the Levenshtein distance between two texts."""
    previous = list(range(len(second) + 1))
    for row, left in enumerate(first, 1):
        current = [row]
        for column, right in enumerate(second, 1):
            current.append(
                min(
                    previous[column] + 1,
                    current[column - 1] + 1,
                    previous[column - 1] + (left != right),
                )
            )
        previous = current
    return previous[-1]


def character_accuracy(read: str, truth: str) -> float:
    """Return 1 - edit distance / length of the truth, not below 0."""
    return max(0.0, 1.0 - edit_distance(read, truth) / len(truth))


def _box_iou(first: Sequence[float], second: Sequence[float]) -> float:
    """Return the intersection over union of two (left, top, right, bottom) boxes."""
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    overlap = max(0.0, width) * max(0.0, height)
    union = (
        (first[2] - first[0]) * (first[3] - first[1])
        + (second[2] - second[0]) * (second[3] - second[1])
        - overlap
    )
    return overlap / union if union > 0 else 0.0


def _on_plate(
    detection: PlateDetection, photo: PlatePhoto, scale: tuple[float, float]
) -> bool:
    """Say whether a detection lies on the still's plate (any, without corners)."""
    if photo.corners is None:
        return True
    xs = [x * scale[0] for x, _ in photo.corners]
    ys = [y * scale[1] for _, y in photo.corners]
    return _box_iou(detection.box, (min(xs), min(ys), max(xs), max(ys))) >= PLATE_IOU


def _outside(detection: PlateDetection, width: int, height: int) -> bool:
    """Say whether a detection's centre lies outside the frame."""
    left, top, right, bottom = detection.box
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    return not (0 <= centre_x <= width and 0 <= centre_y <= height)


@dataclass(slots=True)
class _PlateTally:
    """Counts for one group of plates."""

    plates: int = 0
    exact: int = 0
    detected: int = 0
    read_any: int = 0
    characters: float = 0.0
    raw_characters: float = 0.0
    # Detections off the plate, and how many of them sit in the letterbox's
    # padding (outside the frame), where no plate can be.
    false_detections: int = 0
    false_outside_frame: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return rates with their counts."""
        count = max(1, self.plates)
        return {
            "plates": self.plates,
            "exact": self.exact,
            "exact_accuracy": round(self.exact / count, 4),
            "detection_rate": round(self.detected / count, 4),
            "valid_read_rate": round(self.read_any / count, 4),
            "character_accuracy": round(self.characters / count, 4),
            "character_accuracy_before_validation": round(
                self.raw_characters / count, 4
            ),
            "false_detections_per_frame": round(self.false_detections / count, 3),
            "false_detections_outside_frame_per_frame": round(
                self.false_outside_frame / count, 3
            ),
        }


def plate_accuracy(
    recognizer: Recognizer, photos: Sequence[PlatePhoto], *, degraded: bool
) -> dict[str, Any]:
    """Read each still once and tally exact reads, detections and characters."""
    tallies: dict[str, _PlateTally] = defaultdict(_PlateTally)
    errors: list[dict[str, str]] = []
    plates = recognizer.models.plates
    sizes: set[str] = set()
    for photo in photos:
        original = read_rgb(photo.file)
        image = degrade(original) if degraded else original
        sizes.add(f"{image.shape[1]}x{image.shape[0]}")
        scale = (image.shape[1] / original.shape[1], image.shape[0] / original.shape[0])
        analysis = recognizer.analyse(image, [Task.PLATES])
        best = max(
            analysis.plates, key=lambda reading: reading.confidence, default=None
        )
        read = best.text if best is not None else ""
        detections = plates.detector.detect(image)
        on_plate = [d for d in detections if _on_plate(d, photo, scale)]
        off_plate = [d for d in detections if not _on_plate(d, photo, scale)]
        outside = sum(_outside(d, image.shape[1], image.shape[0]) for d in off_plate)
        raw = plates.read_detection(image, on_plate[0]).text if on_plate else ""
        for group in ("all", photo.colour):
            tally = tallies[group]
            tally.plates += 1
            tally.exact += read == photo.text
            tally.detected += bool(on_plate)
            tally.read_any += best is not None
            tally.characters += character_accuracy(read, photo.text)
            tally.raw_characters += character_accuracy(raw, photo.text)
            tally.false_detections += len(off_plate)
            tally.false_outside_frame += outside
        if read != photo.text and len(errors) < MAX_LISTED_ERRORS:
            errors.append(
                {
                    "file": photo.file.name,
                    "colour": photo.colour,
                    "truth": photo.text,
                    "read": read,
                    "raw_read": raw,
                    "detected": str(bool(on_plate)),
                }
            )
    return {
        "frame_sizes": sorted(sizes),
        "by_colour": {
            group: tally.as_dict() for group, tally in sorted(tallies.items())
        },
        "errors": errors,
    }


@contextlib.contextmanager
def crop_margin(value: float) -> Iterator[None]:
    """Read plates with another crop margin for a while (a tuning sweep)."""
    saved = plates_module.CROP_MARGIN
    plates_module.CROP_MARGIN = value  # type: ignore[misc]
    try:
        yield
    finally:
        plates_module.CROP_MARGIN = saved  # type: ignore[misc]


def crop_margin_sweep(
    recognizer: Recognizer, photos: Sequence[PlatePhoto]
) -> list[dict[str, Any]]:
    """Exact accuracy on the tuning stills for a few crop margins."""
    rows = []
    for value in CROP_MARGINS:
        with crop_margin(value):
            measured = plate_accuracy(recognizer, photos, degraded=False)["by_colour"]
        rows.append(
            {
                "crop_margin": value,
                "exact_accuracy": measured.get("all", {}).get("exact_accuracy"),
                "character_accuracy": measured.get("all", {}).get("character_accuracy"),
            }
        )
    return rows


def best_crop_margin(sweep: Sequence[dict[str, Any]], current: float) -> float:
    """Return the swept margin with the most exact reads (ties: nearest current)."""
    best = max(row["exact_accuracy"] or 0.0 for row in sweep)
    tied = [
        row["crop_margin"] for row in sweep if (row["exact_accuracy"] or 0.0) == best
    ]
    return float(min(tied, key=lambda margin: abs(margin - current)))


def plate_report(recognizer: Recognizer, media: MediaSet) -> dict[str, Any]:
    """Tune on tuning stills, then measure holdout clean and degraded.

    The holdout is read with the reader's current crop margin and, where the
    tuning sweep prefers another one, with that one too: the second figure is
    what changing ``CROP_MARGIN`` would give on pictures it was not chosen on.
    """
    tuning = media.plate_split("tuning")
    holdout = media.plate_split("holdout")
    current = plates_module.CROP_MARGIN
    log(f"plates: crop margin sweep on {len(tuning)} tuning stills")
    sweep = crop_margin_sweep(recognizer, tuning) if tuning else []
    chosen = best_crop_margin(sweep, current) if sweep else current
    log(f"plates: {len(holdout)} holdout stills, clean and degraded")
    report: dict[str, Any] = {
        "stills": {"tuning": len(tuning), "holdout": len(holdout)},
        "current_crop_margin": current,
        "crop_margin_sweep_tuning": sweep,
        "crop_margin_chosen_on_tuning": chosen,
        "holdout": plate_accuracy(recognizer, holdout, degraded=False),
        "holdout_degraded": {
            "what": f"scaled to fit {DEGRADED_SIZE[0]}x{DEGRADED_SIZE[1]}, "
            f"JPEG quality {DEGRADED_QUALITY}",
            **plate_accuracy(recognizer, holdout, degraded=True),
        },
    }
    if chosen != current:
        log(f"plates: holdout again with the crop margin {chosen}")
        with crop_margin(chosen):
            report["holdout_with_chosen_margin"] = {
                "crop_margin": chosen,
                "clean": plate_accuracy(recognizer, holdout, degraded=False)[
                    "by_colour"
                ],
                "degraded": plate_accuracy(recognizer, holdout, degraded=True)[
                    "by_colour"
                ],
            }
    return report


# ---- faces in camera frames ----


@dataclass(slots=True)
class FrameCounts:
    """Outcomes of looking for one enrolled person's face in composed frames."""

    queries: int = 0
    found: int = 0
    correct: int = 0
    unknown: int = 0
    wrong: int = 0

    def as_dict(self) -> dict[str, int | float]:
        """Return the counts and the recognised share."""
        return {
            "queries": self.queries,
            "found": self.found,
            "correct": self.correct,
            "unknown": self.unknown,
            "wrong": self.wrong,
            "recognised": round(self.correct / self.queries, 4) if self.queries else 0,
        }


def compose_at_eye_distance(
    portrait: Image.Image,
    eye_distance: float,
    wanted: float,
    background: Image.Image,
    rng: random.Random,
) -> tuple[Pixels, tuple[int, int, int, int]] | None:
    """Paste a portrait scaled to ``wanted`` px between the eyes; return frame and box.

    None when the scaled portrait does not fit in the frame.
    """
    scale = wanted / eye_distance
    width = max(1, round(portrait.width * scale))
    height = max(1, round(portrait.height * scale))
    if width >= background.width or height >= background.height:
        return None
    scaled = portrait.resize(
        (width, height), Image.Resampling.BILINEAR, reducing_gap=2.0
    )
    left = rng.randint(0, background.width - width)
    top = rng.randint(0, background.height - height)
    frame = background.copy()
    frame.paste(scaled, (left, top))
    return as_stream_frame(np.asarray(frame)), (left, top, left + width, top + height)


def tally_face(
    analysis: Analysis,
    box: tuple[int, int, int, int],
    identity: str,
    tally: FrameCounts,
) -> None:
    """Count one pasted face: found over its box or not, and whom it matched."""
    left, top, right, bottom = box
    tally.queries += 1
    over = [
        face
        for face in analysis.faces
        if left <= (face.detection.box[0] + face.detection.box[2]) / 2 <= right
        and top <= (face.detection.box[1] + face.detection.box[3]) / 2 <= bottom
    ]
    if not over:
        return
    tally.found += 1
    match = over[0].match
    if match is None or match.person_id is None:
        tally.unknown += 1
    elif match.person_id == identity:
        tally.correct += 1
    else:
        tally.wrong += 1


def faces_in_frames(recognizer: Recognizer, media: MediaSet) -> dict[str, Any]:
    """Recognise enrolled people in 720p and 1080p frames, nearer and farther.

    One photo per holdout person (``photos`` set) is enrolled, with the
    gallery's default threshold and margin (what a camera uses); each of their
    other photos is pasted into the door scene so that its eyes are
    EYE_DISTANCES pixels apart, at a random place, and the frame goes through
    ``Recognizer.analyse`` as a camera's would. A face found over the pasted
    photo is ``found``; its match is correct, unknown or wrong. Faces below the
    pipeline's MIN_EYE_DISTANCE are found but never matched.
    """
    holdout = [
        photo for photo in media.face_split("holdout") if photo.collection == "photos"
    ]
    embedded, _ = embed_photos(recognizer, holdout)
    by_identity: dict[str, list[Embedded]] = defaultdict(list)
    for item in embedded:
        by_identity[item.photo.identity].append(item)
    enrolled = {identity: items[0] for identity, items in by_identity.items()}
    queries = [item for items in by_identity.values() for item in items[1:]]
    previous_gallery = recognizer.gallery
    recognizer.gallery = _gallery(enrolled.values(), DEFAULT_THRESHOLD, DEFAULT_MARGIN)
    detector = recognizer.models.face_detector
    background_file = media.backgrounds.get("door") or media.backgrounds.get("general")
    rng = random.Random(FRAME_SEED)
    report: dict[str, Any] = {
        "enrolled_people": len(enrolled),
        "query_photos": len(queries),
    }
    try:
        for size in FRAME_SIZES:
            if background_file is not None:
                with Image.open(background_file) as picture:
                    background = cover(picture.convert("RGB"), size)
            else:
                background = Image.new("RGB", size, (110, 110, 105))
            counts = {
                option: {wanted: FrameCounts() for wanted in EYE_DISTANCES}
                for option in SEARCHES
            }
            for query in queries:
                portrait_pixels = read_rgb(query.photo.file)
                eyes = max(
                    face.eye_distance for face in detector.detect(portrait_pixels)
                )
                portrait = Image.fromarray(portrait_pixels)
                for wanted in EYE_DISTANCES:
                    composed = compose_at_eye_distance(
                        portrait, eyes, wanted, background, rng
                    )
                    if composed is None:
                        continue
                    frame, box = composed
                    # The same frame for both searches: a paired comparison.
                    for option, distant in SEARCHES.items():
                        analysis = recognizer.analyse(
                            frame, [Task.FACES], distant_faces=distant
                        )
                        tally_face(
                            analysis, box, query.photo.identity, counts[option][wanted]
                        )
            report[f"{size[0]}x{size[1]}"] = {
                option: {
                    str(wanted): tally.as_dict() for wanted, tally in by_eyes.items()
                }
                for option, by_eyes in counts.items()
            }
    finally:
        recognizer.gallery = previous_gallery
    return report


# ---- main ----


def run(media: MediaSet, models: ModelSet | None = None) -> dict[str, Any]:
    """Measure faces and plates on a media set."""
    recognizer = Recognizer(models or ModelSet(), FaceGallery())
    return {
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "load_average": load_average(),
        "media": str(media.root),
        "faces": face_accuracy(recognizer, media),
        "faces_in_frames": faces_in_frames(recognizer, media),
        "plates": plate_report(recognizer, media),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments, measure and print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--media", type=Path, default=MEDIA_ROOT)
    arguments = parser.parse_args(argv)
    print(json.dumps(run(load_media(arguments.media)), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
