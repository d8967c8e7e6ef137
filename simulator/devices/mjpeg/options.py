"""Read an MJPEG camera's scenario options and action parameters."""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Final, Self

from simulator.devices.named_options import NamedOptionReader
from simulator.scenario import DeviceSpec, Scenario

# The media folder shipped with the simulator (its contract: index.json).
DEFAULT_MEDIA_ROOT: Final = Path(__file__).resolve().parent.parent.parent / "media"
MIN_SIDE: Final = 16
MAX_WIDTH: Final = 3840
MAX_HEIGHT: Final = 2160
MAX_FPS: Final = 30
_RELATIVE_PATH: Final = "a relative path inside the media folder, like 'faces/a/1.jpg'"


class Scene(StrEnum):
    """Name what the camera looks at, which picks its background and stills."""

    DOOR = "door"
    GATE = "gate"
    ELEVATOR = "elevator"
    GENERAL = "general"


class Placement(StrEnum):
    """Say how a still sits on the background."""

    # A face: about 70 % of the frame height, centred.
    FACE = "face"
    # A car, a plate or an object photo: as large as fits, centred.
    FILL = "fill"


def clean_media_path(text: str, error: Callable[[], ValueError]) -> str:
    """Return ``text`` as a relative POSIX path that stays inside, or raise ``error()``."""
    path = PurePosixPath(text)
    if not text or "\\" in text or path.is_absolute() or ".." in path.parts:
        raise error()
    return path.as_posix()


class CameraReader(NamedOptionReader):
    """Read camera options (or action parameters), naming the bad one."""

    def optional_text(self, key: str) -> str | None:
        """Return a non-empty string, or None when absent or null."""
        self.read.add(key)
        if self.options.get(key) is None:
            return None
        return self.text(key, "")

    def media_path(self, key: str) -> str:
        """Return a path relative to the media folder that stays inside it."""
        value = self.required(key, _RELATIVE_PATH)
        if not isinstance(value, str):
            raise self._fail(key, _RELATIVE_PATH)
        return clean_media_path(value, lambda: self._fail(key, _RELATIVE_PATH))

    def media_list(self, key: str) -> tuple[str, ...] | None:
        """Return a non-empty list of media-relative paths, or None when absent."""
        self.read.add(key)
        value = self.options.get(key)
        if value is None:
            return None
        expected = f"a non-empty list, each item {_RELATIVE_PATH}"
        if not isinstance(value, list) or not value:
            raise self._fail(key, expected)
        paths: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise self._fail(key, expected)
            paths.append(clean_media_path(item, lambda: self._fail(key, expected)))
        return tuple(paths)

    def placement(self, key: str, default: Placement) -> Placement:
        """Return how a still is placed."""
        return Placement(self.choice(key, default, list(Placement)))


@dataclass(frozen=True, slots=True)
class CameraOptions:
    """Hold a camera's scenario options, validated, with their defaults."""

    scene: Scene = Scene.GENERAL
    width: int = 1280
    height: int = 720
    fps: int = 10
    # Both or neither: with them, every request needs HTTP Basic auth.
    username: str | None = None
    password: str | None = None
    # How long a still stays, then how long the empty scene shows before the next.
    segment_seconds: float = 4.0
    gap_seconds: float = 2.0
    # Stills to loop instead of the scene's default selection (media-relative).
    media: tuple[str, ...] | None = None
    media_root: Path = DEFAULT_MEDIA_ROOT

    @property
    def requires_auth(self) -> bool:
        """Say whether requests must carry credentials."""
        return self.username is not None

    @classmethod
    def from_spec(cls, spec: DeviceSpec, scenario: Scenario | None = None) -> Self:
        """Read and check the options of ``spec``; raise ``ValueError`` if bad.

        A relative ``media_root`` is taken from the scenario file's folder, so a
        scenario written next to its own media folder finds it from anywhere.
        """
        reader = CameraReader(spec.id, spec.options)
        defaults = cls()
        scene = Scene(reader.choice("scene", defaults.scene, list(Scene)))
        width = reader.integer(
            "width", defaults.width, minimum=MIN_SIDE, maximum=MAX_WIDTH
        )
        height = reader.integer(
            "height", defaults.height, minimum=MIN_SIDE, maximum=MAX_HEIGHT
        )
        fps = reader.integer("fps", defaults.fps, minimum=1, maximum=MAX_FPS)
        username = reader.optional_text("username")
        password = reader.optional_text("password")
        if (username is None) != (password is None):
            raise ValueError(
                f"options 'username' and 'password' of {spec.id} go together: "
                "give both (HTTP Basic auth) or neither (open)"
            )
        segment_seconds = reader.seconds(
            "segment_seconds", defaults.segment_seconds, minimum=0.05
        )
        gap_seconds = reader.seconds("gap_seconds", defaults.gap_seconds, minimum=0.0)
        media = reader.media_list("media")
        media_root = defaults.media_root
        if (root_text := reader.optional_text("media_root")) is not None:
            media_root = Path(root_text)
            if not media_root.is_absolute() and scenario is not None:
                media_root = scenario.source.resolve().parent / media_root
            if not media_root.is_dir():
                raise reader.fail("media_root", "an existing folder")
        reader.reject_unknown()
        return cls(
            scene=scene,
            width=width,
            height=height,
            fps=fps,
            username=username,
            password=password,
            segment_seconds=segment_seconds,
            gap_seconds=gap_seconds,
            media=media,
            media_root=media_root,
        )
