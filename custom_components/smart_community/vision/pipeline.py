"""Everything a camera frame goes through: faces, plates and objects.

``ModelSet`` loads each model the first time it is needed and shares it: every
camera pointed at the same folder uses one interpreter per model. Calls are
blocking; the caller runs ``Recognizer.analyse`` in a worker thread.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
import threading
import time
from typing import Final

from .faces import FaceDetection, FaceDetector, FaceEmbedder, align_face
from .gallery import Embedding, FaceGallery, FaceMatch
from .imaging import Pixels
from .objects import ObjectDetection, ObjectDetector
from .plates import PlateDetector, PlateReader, PlateReading, PlateRecognizer
from .runner import InterpreterFactory, ModelRunner

BUNDLED_MODELS: Final = Path(__file__).parent / "models"


class ModelName(StrEnum):
    """The files a model folder may hold; missing ones come from the bundle."""

    FACE_DETECTOR = "face_detection_full_range.tflite"
    FACE_EMBEDDER = "mobilefacenet.tflite"
    PLATE_DETECTOR = "plate_detector.tflite"
    PLATE_READER = "plate_reader.tflite"
    PLATE_CHARACTERS = "plate_reader_chars.txt"
    OBJECT_DETECTOR = "coco_detector.tflite"


class Task(StrEnum):
    """What a camera looks for."""

    FACES = "faces"
    PLATES = "plates"
    OBJECTS = "objects"


# Faces with less detail than this (pixels between the eyes) are found but not
# matched: their embeddings are too unreliable to call anyone unknown.
MIN_EYE_DISTANCE: Final = 20.0


class NoFaceError(ValueError):
    """A portrait in which no face (or no face large enough) was found."""


@dataclass(frozen=True, slots=True)
class FaceResult:
    """A face in a frame and who it is."""

    detection: FaceDetection
    # None when the face is too small to match.
    match: FaceMatch | None


@dataclass(slots=True)
class Analysis:
    """What one frame showed, and how long each stage took."""

    width: int
    height: int
    faces: list[FaceResult] = field(default_factory=list)
    plates: list[PlateReading] = field(default_factory=list)
    objects: list[ObjectDetection] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)


def interpreter_threads(cameras: int) -> int:
    """Return the threads per interpreter for models shared by this many cameras.

    Measured on 2 cores (``scripts/bench``, threads): alone, an invoke on 2
    threads takes half as long as on 1; with two callers at once, 1 thread each
    gives more invokes per second (face detector 423 against 299), and cameras
    are analysed on two executor workers at once.
    """
    return 2 if cameras <= 1 else 1


class ModelSet:
    """The models of one folder, loaded on first use and shared."""

    def __init__(
        self,
        folder: Path | None = None,
        *,
        threads: int = 2,
        factory: InterpreterFactory | None = None,
    ) -> None:
        """Use the files of ``folder``, falling back to the bundled ones."""
        self.folder = folder
        self.threads = threads
        self._factory = factory
        self._lock = threading.Lock()
        self._loaded: dict[str, object] = {}

    def path(self, name: ModelName) -> Path:
        """Return the file used for a model."""
        if self.folder is not None and (custom := self.folder / name).is_file():
            return custom
        return BUNDLED_MODELS / name

    def _runner(self, name: ModelName) -> ModelRunner:
        """Load one model file."""
        return ModelRunner(self.path(name), threads=self.threads, factory=self._factory)

    def _get[Loaded](self, key: str, load: Callable[[], Loaded]) -> Loaded:
        """Return a loaded part, loading it once even when threads race."""
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = load()
            loaded: Loaded = self._loaded[key]  # type: ignore[assignment]
            return loaded

    @property
    def face_detector(self) -> FaceDetector:
        """The face detector."""
        return self._get(
            "face_detector", lambda: FaceDetector(self._runner(ModelName.FACE_DETECTOR))
        )

    @property
    def face_embedder(self) -> FaceEmbedder:
        """The face embedder."""
        return self._get(
            "face_embedder", lambda: FaceEmbedder(self._runner(ModelName.FACE_EMBEDDER))
        )

    @property
    def plates(self) -> PlateRecognizer:
        """The plate detector and reader."""
        return self._get(
            "plates",
            lambda: PlateRecognizer(
                PlateDetector(self._runner(ModelName.PLATE_DETECTOR)),
                PlateReader(
                    self._runner(ModelName.PLATE_READER),
                    PlateReader.load_characters(self.path(ModelName.PLATE_CHARACTERS)),
                ),
            ),
        )

    @property
    def object_detector(self) -> ObjectDetector:
        """The COCO object detector."""
        return self._get(
            "objects", lambda: ObjectDetector(self._runner(ModelName.OBJECT_DETECTOR))
        )

    def load(self, tasks: Iterable[Task]) -> None:
        """Load the models of some tasks now (to fail at setup, not on a frame)."""
        for task in tasks:
            match task:
                case Task.FACES:
                    _ = self.face_detector, self.face_embedder
                case Task.PLATES:
                    _ = self.plates
                case Task.OBJECTS:
                    _ = self.object_detector

    def runners(self) -> list[ModelRunner]:
        """Every interpreter loaded so far (for invoke-time accounting)."""
        with self._lock:
            loaded = list(self._loaded.values())
        runners: list[ModelRunner] = []
        for part in loaded:
            if isinstance(part, PlateRecognizer):
                runners += [part.detector.runner, part.reader.runner]
            elif isinstance(part, FaceDetector | FaceEmbedder | ObjectDetector):
                runners.append(part.runner)
        return runners


class Recognizer:
    """Run the tasks on frames against a gallery of enrolled faces."""

    def __init__(self, models: ModelSet, gallery: FaceGallery) -> None:
        """Use shared models and a gallery (which may change between frames)."""
        self.models = models
        self.gallery = gallery

    def analyse(
        self, image: Pixels, tasks: Iterable[Task], *, distant_faces: bool = False
    ) -> Analysis:
        """Look for what the tasks ask for in one RGB frame.

        ``distant_faces`` also looks for faces in squares of a wide frame
        (``faces.detection_views``): farther faces, for more CPU.
        """
        height, width = image.shape[:2]
        analysis = Analysis(width=width, height=height)
        clock = _StageClock(analysis.timings_ms)
        wanted = set(tasks)
        if Task.FACES in wanted:
            self._faces(image, analysis, clock, squares=distant_faces)
        if Task.PLATES in wanted:
            self._plates(image, analysis, clock)
        if Task.OBJECTS in wanted:
            with clock("objects"):
                analysis.objects = self.models.object_detector.detect(image)
        analysis.timings_ms["total"] = sum(analysis.timings_ms.values())
        return analysis

    def _faces(
        self,
        image: Pixels,
        analysis: Analysis,
        clock: _StageClock,
        *,
        squares: bool,
    ) -> None:
        """Detect, align, embed and match faces."""
        with clock("face_detection"):
            detections = self.models.face_detector.detect(image, squares=squares)
        large = [face for face in detections if face.eye_distance >= MIN_EYE_DISTANCE]
        with clock("face_alignment"):
            crops = [align_face(image, face) for face in large]
        with clock("face_embedding"):
            embeddings = self.models.face_embedder.embed(crops) if crops else None
        with clock("face_matching"):
            matches = (
                {
                    id(face): self.gallery.match(vector)
                    for face, vector in zip(large, embeddings, strict=True)
                }
                if embeddings is not None
                else {}
            )
        analysis.faces = [
            FaceResult(detection=face, match=matches.get(id(face)))
            for face in detections
        ]

    def _plates(self, image: Pixels, analysis: Analysis, clock: _StageClock) -> None:
        """Detect and read plates; keep the valid reads."""
        plates = self.models.plates
        with clock("plate_detection"):
            detections = plates.detector.detect(image)
        with clock("plate_reading"):
            readings = [plates.read_detection(image, found) for found in detections]
        analysis.plates = [reading for reading in readings if reading.valid]

    def embed_portrait(self, image: Pixels) -> Embedding:
        """Embed the largest face of an enrolment photo."""
        faces = self.models.face_detector.detect(image)
        if not faces:
            raise NoFaceError("no face found in the picture")
        face = max(faces, key=lambda found: found.eye_distance)
        if face.eye_distance < MIN_EYE_DISTANCE:
            raise NoFaceError(
                f"the face is too small ({face.eye_distance:.0f} px between the eyes;"
                f" {MIN_EYE_DISTANCE:.0f} needed)"
            )
        embedding: Embedding = self.models.face_embedder.embed(
            [align_face(image, face)]
        )[0]
        return embedding


class _StageClock:
    """Time named stages into a dict of milliseconds."""

    def __init__(self, timings: dict[str, float]) -> None:
        """Write into ``timings``."""
        self._timings = timings
        self._stage = ""
        self._started = 0.0

    def __call__(self, stage: str) -> _StageClock:
        """Name the stage the next ``with`` times."""
        self._stage = stage
        return self

    def __enter__(self) -> None:
        """Start timing."""
        self._started = time.perf_counter()

    def __exit__(self, *exc_info: object) -> None:
        """Add the elapsed time to the stage."""
        elapsed = (time.perf_counter() - self._started) * 1000
        self._timings[self._stage] = self._timings.get(self._stage, 0.0) + elapsed
