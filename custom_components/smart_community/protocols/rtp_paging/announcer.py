"""Arbitrate announcements by zone and priority, and play them.

Each zone plays one announcement at a time. A new announcement starts at once
in zones that are free; one of higher priority pre-empts whatever of lower
priority plays in any of its zones (the pre-empted call raises
PreemptedError); one of equal or lower priority waits, or with ``wait=False``
fails with ZoneBusyError. Waiting announcements go in order of priority,
first come first served within one: a later announcement never starts in a
zone an earlier one of at least its priority waits for, so nothing starves.

An announcement plays in all its zones together, as one page, so pre-empting
it in one zone stops it in all of them: speech cut in one room and not the
next is of no use, and the caller learns that it was cut.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from functools import partial
import itertools
import logging
from typing import Final

from .codec import G711, chime as chime_audio, silence
from .errors import PreemptedError, ZoneBusyError
from .sender import PagingSender, PlayReport, ZoneTarget

_LOGGER = logging.getLogger(__name__)

# Silence between the repeats of an announcement, and after the chime.
REPEAT_GAP_SECONDS: Final = 1.0
CHIME_GAP_SECONDS: Final = 0.3


class Priority(IntEnum):
    """Rank announcements: a higher one pre-empts a lower one."""

    NORMAL = 1
    URGENT = 2
    EVACUATION = 3


def compose(
    audio: bytes, codec: G711, *, repeat: int = 1, chime: bool = False
) -> bytes:
    """Return what an announcement plays: chime, then the audio ``repeat`` times.

    Repeats are separated by 1 s of silence, and the chime is followed by
    0.3 s of silence.
    """
    if repeat < 1:
        raise ValueError(f"An announcement plays at least once, not {repeat} times")
    parts = [audio]
    gap = silence(codec, REPEAT_GAP_SECONDS)
    for _ in range(repeat - 1):
        parts += [gap, audio]
    if chime:
        parts[:0] = [chime_audio(codec), silence(codec, CHIME_GAP_SECONDS)]
    return b"".join(parts)


@dataclass(eq=False, slots=True)
class _Request:
    """Hold one announcement from its call to its end."""

    order: int
    priority: Priority
    zones: tuple[ZoneTarget, ...]
    audio: bytes
    codec: G711
    started: Callable[[], None] | None
    result: asyncio.Future[PlayReport]
    names: frozenset[str] = field(init=False)
    task: asyncio.Task[PlayReport] | None = None
    ended_by: Priority | None = None

    def __post_init__(self) -> None:
        """Index the zone names."""
        self.names = frozenset(zone.name for zone in self.zones)

    @property
    def rank(self) -> tuple[int, int]:
        """Sort key: higher priority first, then first come."""
        return (-self.priority, self.order)


class Announcer:
    """Play announcements through a sender, one per zone, by priority."""

    def __init__(self, sender: PagingSender) -> None:
        """Use ``sender`` to play."""
        self._sender = sender
        self._order = itertools.count()
        self._waiting: list[_Request] = []
        self._playing: list[_Request] = []
        self._listeners: list[Callable[[], None]] = []
        self._changed = False

    def playing(self) -> dict[str, Priority]:
        """Map each zone that plays now to the priority playing there."""
        return {
            name: request.priority
            for request in self._playing
            for name in sorted(request.names)
        }

    def add_listener(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` whenever what plays changes; return the remover."""
        self._listeners.append(callback)

        def remove() -> None:
            """Stop calling the callback."""
            if callback in self._listeners:
                self._listeners.remove(callback)

        return remove

    async def announce(
        self,
        audio: bytes,
        zones: Sequence[ZoneTarget],
        codec: G711,
        priority: Priority = Priority.NORMAL,
        *,
        wait: bool = True,
        repeat: int = 1,
        chime: bool = False,
        started: Callable[[], None] | None = None,
    ) -> PlayReport:
        """Play G.711 audio in the zones, when the priority rules allow.

        Returns when the announcement has played. Raises PreemptedError when
        a higher priority or ``stop`` cuts it, ZoneBusyError when it may not
        play yet and ``wait`` is False, and what the sender raises.
        """
        if not audio:
            raise ValueError("There is no audio to announce")
        if not zones:
            raise ValueError("An announcement needs at least one zone")
        if len({zone.name for zone in zones}) != len(zones):
            raise ValueError("Zone names must be unique within an announcement")
        request = _Request(
            order=next(self._order),
            priority=Priority(priority),
            zones=tuple(zones),
            audio=compose(audio, codec, repeat=repeat, chime=chime),
            codec=codec,
            started=started,
            result=asyncio.get_running_loop().create_future(),
        )
        if not wait and (blockers := self._blockers(request, self._waiting)):
            raise ZoneBusyError(
                tuple(
                    sorted(set().union(*(b.names for b in blockers)) & request.names)
                ),
                max(blocker.priority for blocker in blockers),
            )
        self._waiting.append(request)
        self._schedule()
        try:
            return await request.result
        except asyncio.CancelledError:
            self._drop(request)
            raise

    async def stop(self, zones: Sequence[str] | None = None) -> None:
        """Stop what plays or waits in these zones, or everywhere (None).

        Returns once the pages stopped have closed their sockets; their
        announce calls raise PreemptedError.
        """
        names = None if zones is None else frozenset(zones)
        tasks: list[asyncio.Task[PlayReport]] = []
        for request in [*self._playing, *self._waiting]:
            if names is None or request.names & names:
                if request.task is not None:
                    tasks.append(request.task)
                self._end(request, None)
        self._schedule()
        if tasks:
            await asyncio.wait(tasks)

    def _blockers(self, request: _Request, ahead: Sequence[_Request]) -> list[_Request]:
        """List what keeps a request from starting now.

        That is an announcement of at least its priority that plays in one of
        its zones, or that waits for one of them and is ``ahead`` of it.
        """
        return [
            other
            for other in (*self._playing, *ahead)
            if other.priority >= request.priority and other.names & request.names
        ]

    def _schedule(self) -> None:
        """Start every waiting request that may start, in rank order."""
        passed: list[_Request] = []
        for request in sorted(self._waiting, key=lambda item: item.rank):
            if self._blockers(request, passed):
                passed.append(request)
                continue
            for other in [*self._playing]:
                if other.names & request.names:
                    self._end(other, request.priority)
            self._waiting.remove(request)
            self._playing.append(request)
            self._changed = True
            task = asyncio.create_task(
                self._sender.play(
                    request.audio, request.zones, request.codec, started=request.started
                ),
                name=f"paging {request.priority.name} {', '.join(sorted(request.names))}",
            )
            task.add_done_callback(partial(self._finished, request))
            request.task = task
        if self._changed:
            self._changed = False
            for callback in [*self._listeners]:
                try:
                    callback()
                except Exception:
                    _LOGGER.exception("A paging listener failed")

    def _forget(self, request: _Request) -> None:
        """Take a request out of the queue or off the air."""
        if request in self._waiting:
            self._waiting.remove(request)
        if request in self._playing:
            self._playing.remove(request)
            self._changed = True

    def _end(self, request: _Request, by: Priority | None) -> None:
        """Pre-empt (``by`` a priority) or stop (None) a request."""
        self._forget(request)
        request.ended_by = by
        if request.task is not None:
            request.task.cancel()
        _settle(request.result, PreemptedError(by))

    def _drop(self, request: _Request) -> None:
        """Forget a request whose caller was cancelled, and stop its page."""
        self._forget(request)
        if request.task is not None:
            request.task.cancel()
        self._schedule()

    def _finished(self, request: _Request, task: asyncio.Task[PlayReport]) -> None:
        """Hand a page's outcome to its caller and start what waited for it."""
        self._forget(request)
        if task.cancelled():
            _settle(request.result, PreemptedError(request.ended_by))
        elif (error := task.exception()) is not None:
            _settle(request.result, error)
        else:
            _settle(request.result, task.result())
        self._schedule()


def _settle(
    future: asyncio.Future[PlayReport], outcome: PlayReport | BaseException
) -> None:
    """Give a caller its outcome, unless it already has one or left."""
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
