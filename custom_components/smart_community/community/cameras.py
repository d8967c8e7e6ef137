"""Cameras that recognise: what a frame shows becomes events and access decisions.

A camera watch takes the newest frame of its stream at the configured analysis
rate, runs the recognizer on it in a worker thread and turns what several frames
agree on into events: a resident recognised (and their door opened, if the
camera watches a door of their building), a stranger, a plate read (and the
lane's gate opened when the community's plate rules say so), an e-bike.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import partial
import logging
import time
from typing import Final

from ..protocols.isapi import DoorCommand, IsapiError
from ..vision.agreement import Agreement
from ..vision.imaging import encode_jpeg
from ..vision.pipeline import Analysis, Recognizer, Task
from ..vision.stream import Frame, StreamReader, StreamStoppedError
from .access import AccessDecider, AccessDecision
from .errors import UnknownResidentError
from .gates import GateLane
from .listeners import Listeners
from .registry import ResidentsRegistry
from .terminals import TerminalHub

LOGGER = logging.getLogger(__name__)

UNKNOWN_FACE: Final = "unknown"
EBIKE_LABELS: Final = frozenset({"bicycle", "motorcycle"})
DEFAULT_EBIKE_SCORE: Final = 0.5
# The e-bike sensor turns off after this long without a sighting.
EBIKE_CLEAR_SECONDS: Final = 10.0
# Strangers are reported at most this often per camera.
UNKNOWN_QUIET_SECONDS: Final = 60.0


class CameraRole(StrEnum):
    """What a camera watches, which decides what it looks for."""

    GATE_LANE = "gate_lane"
    DOOR = "door"
    ELEVATOR = "elevator"
    GENERAL = "general"


ROLE_TASKS: Final = {
    CameraRole.GATE_LANE: frozenset({Task.PLATES}),
    CameraRole.DOOR: frozenset({Task.FACES}),
    CameraRole.ELEVATOR: frozenset({Task.OBJECTS, Task.FACES}),
    CameraRole.GENERAL: frozenset({Task.FACES, Task.PLATES, Task.OBJECTS}),
}


class RecognitionKind(StrEnum):
    """The events a camera fires."""

    FACE_RECOGNIZED = "face_recognized"
    FACE_UNKNOWN = "face_unknown"
    PLATE_READ = "plate_read"
    EBIKE_DETECTED = "ebike_detected"


@dataclass(frozen=True, slots=True)
class CameraConfig:
    """A camera as the property manager configured it."""

    camera_id: str
    name: str
    url: str
    role: CameraRole
    analysis_rate: float
    building_id: str | None = None
    # Also look for faces in squares of a wide frame (farther, at more CPU).
    distant_faces: bool = False
    # The lane whose gate a gate-lane camera drives.
    lane_id: str | None = None
    # The terminal and door a door camera drives.
    terminal_id: str | None = None
    door: int | None = None

    @property
    def tasks(self) -> frozenset[Task]:
        """Return what the camera looks for."""
        return ROLE_TASKS[self.role]


@dataclass(frozen=True, slots=True)
class RecognitionEvent:
    """Something several frames of a camera agreed on."""

    kind: RecognitionKind
    at: datetime
    confidence: float
    resident_id: str | None = None
    resident_name: str | None = None
    distance: float | None = None
    plate: str | None = None
    verdict: str | None = None
    label: str | None = None
    # Whether the linked door or gate was told to open.
    opened: bool = False
    box: tuple[float, ...] = field(default=(), repr=False)


def _door_building_matches(resident_building: str, door_building: str) -> bool:
    """Apply the terminals' rule: a door lets in the residents of its building."""
    return resident_building.strip() == door_building.strip()


class CameraWatch:
    """One camera: its stream, its analysis loop and what it last saw."""

    def __init__(
        self,
        config: CameraConfig,
        reader: StreamReader,
        registry: ResidentsRegistry,
        *,
        executor: Executor,
        clock: Callable[[], datetime],
        lanes: dict[str, GateLane],
        terminals: dict[str, TerminalHub],
    ) -> None:
        """Watch a stream; recognition starts once a recognizer is given."""
        self.config = config
        self.reader = reader
        self.recognizer: Recognizer | None = None
        self._registry = registry
        self._executor = executor
        self._clock = clock
        self._lanes = lanes
        self._terminals = terminals
        self._faces = Agreement()
        self._unknown = Agreement(quiet_seconds=UNKNOWN_QUIET_SECONDS)
        self._plates = Agreement()
        self._ebikes = Agreement()
        self.ebike_present = False
        self._ebike_seen_at = 0.0
        self.last_event: RecognitionEvent | None = None
        self.last_match_jpeg: bytes | None = None
        self.analyses = 0
        self.analysis_errors = 0
        self.last_analysis_ms: float | None = None
        self._event_listeners: Listeners[RecognitionEvent] = Listeners()
        self._state_listeners: Listeners[()] = Listeners()

    def add_event_listener(
        self, listener: Callable[[RecognitionEvent], None]
    ) -> Callable[[], None]:
        """Call back with every event."""
        return self._event_listeners.add(listener)

    def add_state_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call back when the stream or the e-bike state changes."""
        return self._state_listeners.add(listener)

    def notify_state(self) -> None:
        """Tell state listeners something changed (also for stream changes)."""
        self._state_listeners.notify()

    async def run(self) -> None:
        """Analyse the newest frame at the analysis rate until cancelled."""
        period = 1.0 / self.config.analysis_rate
        after = 0
        loop = asyncio.get_running_loop()
        while True:
            started = time.monotonic()
            try:
                frame = await self.reader.next_frame(after)
            except StreamStoppedError:
                return
            after = frame.sequence
            recognizer = self.recognizer
            if recognizer is not None:
                try:
                    analysis = await loop.run_in_executor(
                        self._executor,
                        partial(
                            recognizer.analyse,
                            frame.image,
                            self.config.tasks,
                            distant_faces=self.config.distant_faces,
                        ),
                    )
                except Exception:
                    # A model failing on one frame must not end the watch; the
                    # first failure is logged in full, later ones only counted.
                    self.analysis_errors += 1
                    if self.analysis_errors == 1:
                        LOGGER.exception("Recognition failed on %s", self.config.name)
                else:
                    self.analyses += 1
                    self.last_analysis_ms = analysis.timings_ms.get("total")
                    await self.handle(analysis, frame)
            await asyncio.sleep(max(0.0, period - (time.monotonic() - started)))

    async def handle(self, analysis: Analysis, frame: Frame) -> None:
        """Turn one frame's analysis into events, once frames agree."""
        now = frame.received_at
        for face in analysis.faces:
            match = face.match
            if match is None:
                continue
            box = face.detection.box
            if match.person_id is not None:
                agreed = self._faces.add(match.person_id, face.detection.score, now)
                if agreed is not None:
                    await self._resident_seen(
                        match.person_id, match.distance, box, frame
                    )
            else:
                agreed = self._unknown.add(UNKNOWN_FACE, face.detection.score, now)
                if agreed is not None:
                    await self._fire(
                        RecognitionEvent(
                            kind=RecognitionKind.FACE_UNKNOWN,
                            at=self._clock(),
                            confidence=agreed.confidence,
                            distance=match.distance,
                            box=box,
                        ),
                        frame,
                    )
        for plate in analysis.plates:
            agreed = self._plates.add(plate.text, plate.confidence, now)
            if agreed is not None:
                await self._plate_read(
                    plate.text, agreed.confidence, plate.detection.box, frame
                )
        await self._objects(analysis, frame, now)

    async def _objects(self, analysis: Analysis, frame: Frame, now: float) -> None:
        """Follow e-bikes: an event when one arrives, the sensor while it stays."""
        ebikes = [
            found
            for found in analysis.objects
            if found.label in EBIKE_LABELS and found.score >= DEFAULT_EBIKE_SCORE
        ]
        if ebikes:
            best = max(ebikes, key=lambda found: found.score)
            agreed = self._ebikes.add("ebike", best.score, now)
            if agreed is not None or self.ebike_present:
                self._ebike_seen_at = now
            if agreed is not None and not self.ebike_present:
                self.ebike_present = True
                self.notify_state()
                await self._fire(
                    RecognitionEvent(
                        kind=RecognitionKind.EBIKE_DETECTED,
                        at=self._clock(),
                        confidence=agreed.confidence,
                        label=best.label,
                        box=best.box,
                    ),
                    frame,
                )
        elif self.ebike_present and now - self._ebike_seen_at >= EBIKE_CLEAR_SECONDS:
            self.ebike_present = False
            self._ebikes.forget("ebike")
            self.notify_state()

    async def _resident_seen(
        self,
        resident_id: str,
        distance: float | None,
        box: tuple[float, ...],
        frame: Frame,
    ) -> None:
        """Report a resident and open their door if this camera guards it."""
        try:
            resident = self._registry.get_resident(resident_id)
        except UnknownResidentError:
            # Removed since the gallery was last pruned.
            return
        opened = False
        terminal = self._terminals.get(self.config.terminal_id or "")
        if (
            self.config.role is CameraRole.DOOR
            and terminal is not None
            and self.config.door is not None
            and _door_building_matches(
                resident.household.building, terminal.config.building_id
            )
        ):
            try:
                await terminal.client.control_door(self.config.door, DoorCommand.OPEN)
            except IsapiError as err:
                LOGGER.warning(
                    "%s recognised %s but door %s of %s did not open: %s",
                    self.config.name,
                    resident.name,
                    self.config.door,
                    terminal.config.name,
                    err,
                )
            else:
                opened = True
        await self._fire(
            RecognitionEvent(
                kind=RecognitionKind.FACE_RECOGNIZED,
                at=self._clock(),
                confidence=1.0 - (distance or 0.0) / 2,
                resident_id=resident.resident_id,
                resident_name=resident.name,
                distance=distance,
                opened=opened,
                box=box,
            ),
            frame,
        )

    async def _plate_read(
        self, plate: str, confidence: float, box: tuple[float, ...], frame: Frame
    ) -> None:
        """Report a plate and decide on it at the linked lane, if any."""
        lane = self._lanes.get(self.config.lane_id or "")
        decision: AccessDecision | None = None
        if lane is not None:
            decision = AccessDecider(self._registry).decide(
                plate, lane.config.policy, self._clock()
            )
            if decision.opens:
                lane.request_open()
        await self._fire(
            RecognitionEvent(
                kind=RecognitionKind.PLATE_READ,
                at=self._clock(),
                confidence=confidence,
                plate=plate,
                verdict=decision.verdict.value if decision else None,
                resident_id=(
                    decision.resident.resident_id
                    if decision and decision.resident
                    else None
                ),
                opened=bool(decision and decision.opens),
                box=box,
            ),
            frame,
        )

    async def _fire(self, event: RecognitionEvent, frame: Frame) -> None:
        """Keep the frame as the last match and tell the listeners."""
        loop = asyncio.get_running_loop()
        self.last_match_jpeg = await loop.run_in_executor(
            self._executor, encode_jpeg, frame.image
        )
        self.last_event = event
        self._event_listeners.notify(event)
