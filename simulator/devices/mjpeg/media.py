"""Read the media folder's index and pick the stills a camera loops through.

The folder's contract is ``index.json`` (paths relative to the folder)::

    {"faces": [{"file": "faces/<identity>/<n>.jpg", "identity": ..., "split": ...}],
     "plates": [{"file": "plates/<n>.jpg", "text": ..., "color": ..., ...}],
     "objects": [{"file": "objects/<n>.jpg", "labels": [...], ...}],
     "backgrounds": [{"file": "backgrounds/<scene>.jpg", "scene": "door", ...}],
     "sources": {...}}

Only ``file`` (and a background's ``scene``) matter here; other fields are the
tests' ground truth and are left alone.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain, zip_longest
import json
from pathlib import Path
from typing import Final

from simulator.devices.mjpeg.options import Placement, Scene

INDEX_NAME: Final = "index.json"


class MediaError(Exception):
    """Say that a media file is missing, outside the folder or not a picture."""


class Category(StrEnum):
    """Name the lists of the index a still can come from."""

    FACE = "faces"
    PLATE = "plates"
    OBJECT = "objects"
    BACKGROUND = "backgrounds"

    @property
    def placement(self) -> Placement:
        """Return how stills of this category sit on the background."""
        return Placement.FACE if self is Category.FACE else Placement.FILL


@dataclass(frozen=True, slots=True)
class MediaItem:
    """Name one still: its media-relative file and the list it belongs to."""

    file: str
    category: Category


@dataclass(frozen=True, slots=True)
class MediaIndex:
    """Hold the stills of ``index.json`` by category, and backgrounds by scene."""

    faces: tuple[MediaItem, ...] = ()
    plates: tuple[MediaItem, ...] = ()
    objects: tuple[MediaItem, ...] = ()
    backgrounds: tuple[tuple[Scene, str], ...] = ()

    def background_for(self, scene: Scene) -> str | None:
        """Return the scene's background file, else the general one, else None."""
        by_scene = dict(self.backgrounds)
        return by_scene.get(scene, by_scene.get(Scene.GENERAL))

    def category_of(self, file: str) -> Category | None:
        """Return the list ``file`` is indexed in, else guess from its top folder."""
        for item in chain(self.faces, self.plates, self.objects):
            if item.file == file:
                return item.category
        if any(file == background for _, background in self.backgrounds):
            return Category.BACKGROUND
        top = file.split("/", 1)[0]
        return Category(top) if top in set(Category) else None

    def default_selection(self, scene: Scene) -> tuple[MediaItem, ...]:
        """Return the stills a camera of ``scene`` loops through by default.

        A door camera sees faces (both splits), a gate camera plates, a lift car
        objects and faces, and a general camera everything; mixed lists take
        turns so that each kind shows up early in the loop.
        """
        match scene:
            case Scene.DOOR:
                return self.faces
            case Scene.GATE:
                return self.plates
            case Scene.ELEVATOR:
                return _take_turns([self.objects, self.faces])
            case Scene.GENERAL:
                return _take_turns([self.faces, self.plates, self.objects])


def _take_turns(lists: Sequence[Sequence[MediaItem]]) -> tuple[MediaItem, ...]:
    """Interleave ``lists``: one item of each in turn until all are used up."""
    return tuple(
        item for group in zip_longest(*lists) for item in group if item is not None
    )


def load_index(root: Path) -> MediaIndex | None:
    """Read ``root/index.json``; None if it is not there, ``MediaError`` if bad."""
    path = root / INDEX_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise MediaError(f"cannot read {path}: {error}") from None
    try:
        document: object = json.loads(text)
    except ValueError as error:
        raise MediaError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise MediaError(f"{path} must hold a JSON object")
    return MediaIndex(
        faces=tuple(_items(path, document, Category.FACE)),
        plates=tuple(_items(path, document, Category.PLATE)),
        objects=tuple(_items(path, document, Category.OBJECT)),
        backgrounds=tuple(_backgrounds(path, document)),
    )


def _entries(
    path: Path, document: dict[str, object], key: str
) -> Iterable[tuple[dict[str, object], str]]:
    """Yield each entry of the list ``key`` with its ``file``, checking the shape."""
    entries = document.get(key, [])
    if not isinstance(entries, list):
        raise MediaError(f"{path}: {key!r} must be a list")
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(
            file := entry.get("file"), str
        ):
            raise MediaError(f"{path}: {key}[{number}] needs a 'file' string")
        yield entry, file


def _items(
    path: Path, document: dict[str, object], category: Category
) -> Iterable[MediaItem]:
    """Yield the stills of one category."""
    for _, file in _entries(path, document, category):
        yield MediaItem(file, category)


def _backgrounds(
    path: Path, document: dict[str, object]
) -> Iterable[tuple[Scene, str]]:
    """Yield (scene, file) for each background whose scene is one we play."""
    for entry, file in _entries(path, document, Category.BACKGROUND):
        if (scene := entry.get("scene")) in set(Scene):
            yield Scene(str(scene)), file


def media_file(root: Path, file: str) -> Path:
    """Return the path of a media-relative file that exists, or raise ``MediaError``."""
    path = root / file
    if not path.is_file():
        raise MediaError(f"no media file {file!r} in {root}")
    return path
