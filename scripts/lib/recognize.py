"""Recognise faces, plates and objects in one picture; print the result as JSON.

``scripts/recognize IMAGE [--enroll NAME=IMAGE ...]``: each enrolled photo adds
its largest face to NAME, and the faces of IMAGE are matched against them.
Exit codes: 0 done, 1 a picture or model cannot be used, 2 usage errors.
"""

import argparse
from collections.abc import Sequence
import json
from pathlib import Path
import sys
import time
from typing import Any

from custom_components.smart_community.vision.gallery import (
    DEFAULT_MARGIN,
    DEFAULT_THRESHOLD,
    FaceGallery,
)
from custom_components.smart_community.vision.imaging import (
    ImageDecodeError,
    decode_picture,
)
from custom_components.smart_community.vision.pipeline import (
    ModelSet,
    NoFaceError,
    Recognizer,
    Task,
)
from custom_components.smart_community.vision.runner import (
    ModelLoadError,
    RuntimeUnavailableError,
)


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="scripts/recognize", description=__doc__)
    parser.add_argument("image", type=Path, help="the picture to analyse")
    parser.add_argument(
        "--enroll",
        action="append",
        default=[],
        metavar="NAME=IMAGE",
        help="enrol the largest face of IMAGE as NAME (repeatable)",
    )
    parser.add_argument(
        "--tasks",
        default=",".join(task.value for task in Task),
        help="comma-separated: faces, plates, objects (default: all)",
    )
    parser.add_argument("--models", type=Path, help="a folder of own model files")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--margin", type=float, default=DEFAULT_MARGIN)
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args(argv)
    for pair in arguments.enroll:
        if "=" not in pair or not pair.split("=", 1)[0]:
            parser.error(f"--enroll takes NAME=IMAGE, not {pair!r}")
    try:
        arguments.tasks = [Task(task.strip()) for task in arguments.tasks.split(",")]
    except ValueError as err:
        parser.error(str(err))
    return arguments


def _box(values: Sequence[float]) -> list[float]:
    """Round pixel coordinates for printing."""
    return [round(float(value), 1) for value in values]


def recognize(arguments: argparse.Namespace) -> dict[str, Any]:
    """Enrol, then analyse the picture; return the JSON document."""
    models = ModelSet(arguments.models, threads=arguments.threads)
    gallery = FaceGallery(threshold=arguments.threshold, margin=arguments.margin)
    recognizer = Recognizer(models, gallery)
    started = time.perf_counter()
    models.load(arguments.tasks)
    loading_ms = (time.perf_counter() - started) * 1000
    for pair in arguments.enroll:
        name, path = pair.split("=", 1)
        image = decode_picture(Path(path).read_bytes())
        gallery.add(name, recognizer.embed_portrait(image))
    image = decode_picture(arguments.image.read_bytes())
    analysis = recognizer.analyse(image, arguments.tasks)
    return {
        "image": {"width": analysis.width, "height": analysis.height},
        "faces": [
            {
                "box": _box(face.detection.box),
                "score": round(face.detection.score, 3),
                "match": face.match.person_id if face.match else None,
                "distance": (
                    round(face.match.distance, 3)
                    if face.match and face.match.distance is not None
                    else None
                ),
                "nearest": face.match.nearest_id if face.match else None,
            }
            for face in analysis.faces
        ],
        "plates": [
            {
                "text": plate.text,
                "kind": plate.kind.value if plate.kind else None,
                "confidence": round(plate.confidence, 3),
                "score": round(plate.detection.score, 3),
                "corners": [_box(corner) for corner in plate.detection.corners],
            }
            for plate in analysis.plates
        ],
        "objects": [
            {
                "label": found.label,
                "score": round(found.score, 3),
                "box": _box(found.box),
            }
            for found in analysis.objects
        ],
        "timings_ms": {
            "model_loading": round(loading_ms, 2),
            **{stage: round(ms, 2) for stage, ms in analysis.timings_ms.items()},
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit code."""
    arguments = _arguments(sys.argv[1:] if argv is None else argv)
    try:
        document = recognize(arguments)
    except (
        OSError,
        ImageDecodeError,
        NoFaceError,
        ModelLoadError,
        RuntimeUnavailableError,
    ) as err:
        print(f"recognize: {err}", file=sys.stderr)
        return 1
    json.dump(document, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
