"""Keep each face terminal's persons and faces in step with the residents registry.

Three parts, none of which knows Home Assistant:

- ``EnrolmentPlanner`` follows the registry and turns every change into
  operations: upsert (person, plus face when one is stored) or delete one
  resident on one terminal.
- ``EnrolmentQueue`` holds those operations per terminal, coalesced (the latest
  operation for a terminal and resident wins), with their failures and backoff,
  and remembers which residents it put on each terminal. The glue persists it
  through ``to_dict``/``from_dict``.
- ``EnrolmentWorker`` carries the due operations out over ISAPI, one at a time
  per terminal, and resyncs a terminal from what it reports.

Nothing pending is ever dropped except by success or by a later operation for
the same terminal and resident (or by ``forget_terminal`` when a terminal is
removed from the community).
"""

import asyncio
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
import hashlib
import re
from typing import Any, Final, Protocol, Self
import unicodedata

from ..protocols.isapi import (
    IsapiAlreadyExistsError,
    IsapiAuthError,
    IsapiCapacityError,
    IsapiConnectionError,
    IsapiError,
    IsapiFaceRejectedError,
    IsapiLockedError,
    IsapiNotFoundError,
    IsapiNotSupportedError,
    Person,
)
from .listeners import Listeners
from .models import require_aware
from .registry import ResidentsRegistry

STORAGE_VERSION: Final = 1

# Terminals store employeeNo in at most 32 bytes; ASCII letters and digits are
# accepted by every firmware.
EMPLOYEE_NO_MAX_LENGTH: Final = 32
DERIVED_PREFIX: Final = "R"
_PLAIN_EMPLOYEE_NO: Final = re.compile(r"[A-Za-z0-9]{1,32}")
_DERIVED_HEX_DIGITS: Final = EMPLOYEE_NO_MAX_LENGTH - len(DERIVED_PREFIX)

# Offline terminals and unexplained failures: 30 s, doubling, at most 30 min.
RETRY_FIRST: Final = timedelta(seconds=30)
RETRY_MAX: Final = timedelta(minutes=30)
# A full terminal, a refused picture or refused credentials will not mend by
# themselves within minutes; retry_now brings the retry forward.
RETRY_HELD: Final = timedelta(hours=1)
# 30 s * 2**6 is past RETRY_MAX; a bounded exponent keeps timedelta in range.
_MAX_DOUBLINGS: Final = 6

type Listener = Callable[[], None]


class OperationKind(StrEnum):
    """Name what an operation does to a resident on a terminal."""

    UPSERT = "upsert"
    DELETE = "delete"


class ErrorKind(StrEnum):
    """Sort the failures of an operation by what fixes them."""

    OFFLINE = "offline"
    CAPACITY_FULL = "capacity_full"
    FACE_REJECTED = "face_rejected"
    AUTH = "auth"
    OTHER = "other"


class InvalidEnrolmentDataError(ValueError):
    """Reject stored enrolment data that is corrupt or from an unknown version."""


class UnusableFaceError(Exception):
    """Report a stored face picture that cannot be sent at all (not a JPEG)."""


def employee_no_for(resident_id: str) -> str:
    """Return the employee number a resident is enrolled under on terminals.

    A resident ID of 1 to 32 ASCII letters and digits is used as it is, so
    numbers stay readable on the terminal's screen and in its event log. Any
    other ID (longer, or with other characters) becomes "R" followed by the
    first 31 hex digits of its BLAKE2b digest: 32 characters, stable across
    restarts and machines.

    Why numbers cannot collide in practice: two plain IDs differ because the
    IDs differ. Two derived numbers share 124 bits of BLAKE2b only by chance:
    for n residents the birthday bound is n²/2¹²⁵, about 10⁻³⁰ for 10,000. A
    plain ID equals a derived number only if someone typed, as a resident ID,
    "R" plus the 124-bit digest of another resident's ID, which is a preimage
    of BLAKE2b and not something a property manager does by accident.
    """
    if _PLAIN_EMPLOYEE_NO.fullmatch(resident_id):
        return resident_id
    digest = hashlib.blake2b(resident_id.encode(), digest_size=16).hexdigest()
    return DERIVED_PREFIX + digest[:_DERIVED_HEX_DIGITS]


class EmployeeNumbers:
    """Map terminals' employee numbers back to resident IDs, following the registry.

    The index is dropped on every registry change and rebuilt on the next
    lookup, so a burst of changes costs one rebuild and lookups are O(1).
    Should two residents ever share a number (see employee_no_for), the one
    registered first keeps it.
    """

    def __init__(self, registry: ResidentsRegistry) -> None:
        """Follow a registry until close()."""
        self._registry = registry
        self._index: dict[str, str] | None = None
        self._remove_listener = registry.add_listener(self._invalidate)

    def _invalidate(self) -> None:
        """Forget the index; the registry changed."""
        self._index = None

    def resident_id_for(self, employee_no: str) -> str | None:
        """Return the resident enrolled under an employee number, or None."""
        if self._index is None:
            index: dict[str, str] = {}
            for resident in self._registry.residents:
                index.setdefault(
                    employee_no_for(resident.resident_id), resident.resident_id
                )
            self._index = index
        return self._index.get(employee_no)

    def close(self) -> None:
        """Stop following the registry."""
        self._remove_listener()


class FaceStore(Protocol):
    """Give residents' face pictures (the glue keeps them on disk)."""

    async def get(self, resident_id: str) -> bytes | None:
        """Return a resident's JPEG, or None if they have no stored face."""
        ...


class PersonClient(Protocol):
    """Change a terminal's persons and faces (IsapiClient does all of this)."""

    async def add_person(self, person: Person) -> None:
        """Enrol a new person."""
        ...

    async def modify_person(self, person: Person) -> None:
        """Change an enrolled person."""
        ...

    async def search_persons(
        self, employee_nos: Iterable[str] | None = None
    ) -> list[Person]:
        """Return the enrolled persons."""
        ...

    async def delete_persons(self, employee_nos: Iterable[str]) -> None:
        """Remove persons with their faces."""
        ...

    async def upload_face(
        self, employee_no: str, jpeg: bytes, *, replace: bool = False
    ) -> None:
        """Store a person's face picture."""
        ...


@dataclass(frozen=True, slots=True)
class Operation:
    """Name one change to make: upsert or delete a resident on a terminal."""

    terminal_id: str
    resident_id: str
    kind: OperationKind


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingOperation:
    """Hold a queued operation with its attempts, last failure and next attempt.

    ``last_error`` is None until an attempt fails. ``attempts`` counts the
    attempts actually made: an operation skipped because the terminal had just
    reported itself full records the failure without counting an attempt.
    """

    terminal_id: str
    resident_id: str
    kind: OperationKind
    next_attempt: datetime
    attempts: int = 0
    last_error: ErrorKind | None = None
    last_error_text: str | None = None

    @property
    def employee_no(self) -> str:
        """Return the employee number the operation works on."""
        return employee_no_for(self.resident_id)

    @property
    def failed(self) -> bool:
        """Tell whether the last attempt failed."""
        return self.last_error is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class TerminalHold:
    """Say why no operation of a terminal is tried before ``until``.

    Set when the terminal is unreachable (OFFLINE) or refuses the credentials
    (AUTH); ``streak`` counts the consecutive failures of that kind, from which
    the offline backoff doubles.
    """

    kind: ErrorKind
    text: str
    until: datetime
    streak: int = 1


@dataclass(slots=True)
class _TerminalState:
    """Hold one terminal's queue, its enrolled residents and its hold."""

    operations: dict[str, PendingOperation] = field(default_factory=dict)
    enrolled: set[str] = field(default_factory=set)
    hold: TerminalHold | None = None

    @property
    def empty(self) -> bool:
        """Tell whether there is nothing to remember about the terminal."""
        return not self.operations and not self.enrolled and self.hold is None


def _processing_order(operation: PendingOperation) -> bool:
    """Sort deletes first, so a full terminal frees room before it is added to."""
    return operation.kind is OperationKind.UPSERT


class EnrolmentQueue:
    """Keep the pending operations of every terminal, coalesced and persistable.

    Per terminal and resident only the latest operation is kept: upsert then
    delete leaves the delete, delete then upsert leaves the upsert. Operations
    are processed deletes first, then in the order they were queued.

    Besides the operations, the queue remembers which residents it enrolled on
    each terminal (``enrolled``). A resync deletes only those, so persons that
    someone else put on a terminal are never removed by this integration.

    Listeners are called once per change: once per ``put`` however many
    operations it queues, once per recorded outcome, and once for a whole
    ``batch()``.
    """

    def __init__(self) -> None:
        """Start empty."""
        self._terminals: dict[str, _TerminalState] = {}
        self._listeners: Listeners[()] = Listeners()
        self._batch_depth = 0
        self._dirty = False

    # --- listeners -------------------------------------------------------------

    def add_listener(self, callback: Listener) -> Listener:
        """Call back after every change; return a function that stops it."""
        return self._listeners.add(callback)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group changes so that listeners are called once, at the end.

        Never hold a batch across an await: changes made elsewhere meanwhile
        would wait for it.
        """
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0 and self._dirty:
                self._notify()

    def _changed(self) -> None:
        """Note a change; tell the listeners unless a batch is open."""
        self._dirty = True
        if self._batch_depth == 0:
            self._notify()

    def _notify(self) -> None:
        """Call every listener once."""
        self._dirty = False
        self._listeners.notify()

    # --- state access ----------------------------------------------------------

    def _state(self, terminal_id: str) -> _TerminalState:
        """Return a terminal's state, creating it when first needed."""
        return self._terminals.setdefault(terminal_id, _TerminalState())

    def _prune(self, terminal_id: str) -> None:
        """Forget a terminal's state once it holds nothing."""
        state = self._terminals.get(terminal_id)
        if state is not None and state.empty:
            del self._terminals[terminal_id]

    def is_current(self, operation: PendingOperation) -> bool:
        """Tell whether an operation is still the queued one for its key."""
        state = self._terminals.get(operation.terminal_id)
        return (
            state is not None
            and state.operations.get(operation.resident_id) is operation
        )

    @property
    def terminal_ids(self) -> list[str]:
        """Return the terminals with pending operations, enrolments or a hold."""
        return list(self._terminals)

    def get(self, terminal_id: str, resident_id: str) -> PendingOperation | None:
        """Return the pending operation for a resident on a terminal, if any."""
        state = self._terminals.get(terminal_id)
        return None if state is None else state.operations.get(resident_id)

    def pending(self, terminal_id: str) -> list[PendingOperation]:
        """Return a terminal's pending operations in processing order."""
        state = self._terminals.get(terminal_id)
        if state is None:
            return []
        return sorted(state.operations.values(), key=_processing_order)

    def due(self, terminal_id: str, now: datetime) -> list[PendingOperation]:
        """Return the operations to try now, in processing order.

        None while the terminal is held (offline or refusing credentials).
        """
        require_aware(now)
        state = self._terminals.get(terminal_id)
        if state is None or (state.hold is not None and now < state.hold.until):
            return []
        return [
            operation
            for operation in self.pending(terminal_id)
            if operation.next_attempt <= now
        ]

    def failures(self, terminal_id: str) -> list[PendingOperation]:
        """Return the pending operations whose last attempt failed."""
        return [
            operation for operation in self.pending(terminal_id) if operation.failed
        ]

    def pending_count(self, terminal_id: str | None = None) -> int:
        """Count the pending operations of one terminal, or of all."""
        states = self._selected(terminal_id)
        return sum(len(state.operations) for state in states)

    def failure_count(self, terminal_id: str | None = None) -> int:
        """Count the pending operations that failed, of one terminal or of all."""
        return sum(
            operation.failed
            for state in self._selected(terminal_id)
            for operation in state.operations.values()
        )

    def _selected(self, terminal_id: str | None) -> Collection[_TerminalState]:
        """Return one terminal's state (if any), or every terminal's."""
        if terminal_id is None:
            return self._terminals.values()
        state = self._terminals.get(terminal_id)
        return () if state is None else (state,)

    def hold(self, terminal_id: str) -> TerminalHold | None:
        """Return why a terminal is held, if it is."""
        state = self._terminals.get(terminal_id)
        return None if state is None else state.hold

    def next_due(self, terminal_id: str) -> datetime | None:
        """Return when the terminal next has work, or None if nothing is pending.

        A time in the past means now.
        """
        state = self._terminals.get(terminal_id)
        if state is None or not state.operations:
            return None
        earliest = min(
            operation.next_attempt for operation in state.operations.values()
        )
        if state.hold is not None:
            return max(earliest, state.hold.until)
        return earliest

    def enrolled(self, terminal_id: str) -> frozenset[str]:
        """Return the residents this queue enrolled on a terminal."""
        state = self._terminals.get(terminal_id)
        return frozenset() if state is None else frozenset(state.enrolled)

    def is_enrolled(self, terminal_id: str, resident_id: str) -> bool:
        """Tell whether this queue enrolled a resident on a terminal."""
        state = self._terminals.get(terminal_id)
        return state is not None and resident_id in state.enrolled

    # --- changes ---------------------------------------------------------------

    def put(self, operations: Iterable[Operation], now: datetime) -> int:
        """Queue operations due at ``now``, each replacing any earlier one for its key.

        Return how many were queued; listeners are called once if any were.
        """
        require_aware(now)
        count = 0
        for operation in operations:
            state = self._state(operation.terminal_id)
            # Popping first moves a replaced operation to the end: queue order
            # is the order of the latest change.
            state.operations.pop(operation.resident_id, None)
            state.operations[operation.resident_id] = PendingOperation(
                terminal_id=operation.terminal_id,
                resident_id=operation.resident_id,
                kind=operation.kind,
                next_attempt=now,
            )
            count += 1
        if count:
            self._changed()
        return count

    def retry_now(self, terminal_id: str, now: datetime) -> int:
        """Make every pending operation of a terminal due now and lift its hold.

        Return how many operations were brought forward.
        """
        require_aware(now)
        state = self._terminals.get(terminal_id)
        if state is None:
            return 0
        waiting = [
            operation
            for operation in state.operations.values()
            if operation.next_attempt > now
        ]
        for operation in waiting:
            state.operations[operation.resident_id] = replace(
                operation, next_attempt=now
            )
        lifted = state.hold is not None
        state.hold = None
        self._prune(terminal_id)
        if waiting or lifted:
            self._changed()
        return len(waiting)

    def forget_terminal(self, terminal_id: str) -> None:
        """Drop everything about a terminal that left the community."""
        if self._terminals.pop(terminal_id, None) is not None:
            self._changed()

    def complete(self, operation: PendingOperation) -> bool:
        """Remove an operation that succeeded, unless a later one replaced it."""
        if not self.is_current(operation):
            return False
        del self._terminals[operation.terminal_id].operations[operation.resident_id]
        self._prune(operation.terminal_id)
        self._changed()
        return True

    def fail(
        self,
        operation: PendingOperation,
        kind: ErrorKind,
        text: str,
        next_attempt: datetime,
        *,
        attempted: bool = True,
    ) -> bool:
        """Record a failed (or, with attempted=False, skipped) operation.

        Nothing is recorded if a later operation replaced it meanwhile: that
        one is due already. Return whether it was recorded.
        """
        require_aware(next_attempt)
        if not self.is_current(operation):
            return False
        self._terminals[operation.terminal_id].operations[operation.resident_id] = (
            replace(
                operation,
                attempts=operation.attempts + attempted,
                last_error=kind,
                last_error_text=text,
                next_attempt=next_attempt,
            )
        )
        self._changed()
        return True

    def set_enrolled(self, terminal_id: str, resident_id: str, enrolled: bool) -> None:
        """Record whether a resident is now on a terminal because of this queue."""
        state = self._terminals.get(terminal_id)
        if enrolled == (state is not None and resident_id in state.enrolled):
            return
        if enrolled:
            self._state(terminal_id).enrolled.add(resident_id)
        elif state is not None:
            state.enrolled.discard(resident_id)
            self._prune(terminal_id)
        self._changed()

    def reconcile_enrolled(
        self, terminal_id: str, employee_nos_on_terminal: Collection[str]
    ) -> int:
        """Forget enrolments the terminal no longer has (after a reset); count them."""
        state = self._terminals.get(terminal_id)
        if state is None:
            return 0
        gone = {
            resident_id
            for resident_id in state.enrolled
            if employee_no_for(resident_id) not in employee_nos_on_terminal
        }
        if gone:
            state.enrolled -= gone
            self._prune(terminal_id)
            self._changed()
        return len(gone)

    def set_hold(self, terminal_id: str, hold: TerminalHold) -> None:
        """Stop trying a terminal's operations until ``hold.until``."""
        require_aware(hold.until)
        self._state(terminal_id).hold = hold
        self._changed()

    def clear_hold(self, terminal_id: str) -> None:
        """Lift a terminal's hold: it answered again."""
        state = self._terminals.get(terminal_id)
        if state is not None and state.hold is not None:
            state.hold = None
            self._prune(terminal_id)
            self._changed()

    # --- persistence -----------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Describe the queue as JSON-serialisable data for Home Assistant's Store."""
        return {
            "version": STORAGE_VERSION,
            "terminals": {
                terminal_id: {
                    "pending": [
                        {
                            "resident_id": operation.resident_id,
                            "kind": str(operation.kind),
                            "attempts": operation.attempts,
                            "last_error": None
                            if operation.last_error is None
                            else str(operation.last_error),
                            "last_error_text": operation.last_error_text,
                            "next_attempt": operation.next_attempt.isoformat(),
                        }
                        for operation in state.operations.values()
                    ],
                    "enrolled": sorted(state.enrolled),
                    "hold": None
                    if state.hold is None
                    else {
                        "kind": str(state.hold.kind),
                        "text": state.hold.text,
                        "until": state.hold.until.isoformat(),
                        "streak": state.hold.streak,
                    },
                }
                for terminal_id, state in self._terminals.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a queue from to_dict data, validating every record."""
        if (version := data.get("version")) != STORAGE_VERSION:
            raise InvalidEnrolmentDataError(f"unsupported version {version!r}")
        queue = cls()
        try:
            for terminal_id, stored in _mapping(data["terminals"]).items():
                state = _read_terminal(_text(terminal_id), _mapping(stored))
                if not state.empty:
                    queue._terminals[terminal_id] = state
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidEnrolmentDataError(
                f"the stored enrolment queue cannot be read: {type(err).__name__}: {err}"
            ) from err
        return queue


def _mapping(value: object) -> Mapping[str, Any]:
    """Return value if it is a JSON object, else raise TypeError."""
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _text(value: object) -> str:
    """Return value if it is a non-empty string, else raise TypeError."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"expected a non-empty string, got {value!r}")
    return value


def _count(value: object) -> int:
    """Return value if it is a non-negative integer, else raise TypeError."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"expected a count, got {value!r}")
    return value


def _instant(value: object) -> datetime:
    """Parse an aware ISO 8601 time, else raise ValueError."""
    moment = datetime.fromisoformat(_text(value))
    require_aware(moment)
    return moment


def _read_terminal(terminal_id: str, stored: Mapping[str, Any]) -> _TerminalState:
    """Rebuild one terminal's state from its to_dict entry."""
    state = _TerminalState()
    for raw in stored["pending"]:
        entry = _mapping(raw)
        resident_id = _text(entry["resident_id"])
        if resident_id in state.operations:
            raise ValueError(f"two operations for {resident_id!r} on {terminal_id!r}")
        last_error = entry["last_error"]
        text = entry["last_error_text"]
        state.operations[resident_id] = PendingOperation(
            terminal_id=terminal_id,
            resident_id=resident_id,
            kind=OperationKind(entry["kind"]),
            next_attempt=_instant(entry["next_attempt"]),
            attempts=_count(entry["attempts"]),
            last_error=None if last_error is None else ErrorKind(last_error),
            last_error_text=None if text is None else str(text),
        )
    state.enrolled = {_text(resident_id) for resident_id in stored["enrolled"]}
    if stored["hold"] is not None:
        hold = _mapping(stored["hold"])
        state.hold = TerminalHold(
            kind=ErrorKind(hold["kind"]),
            text=str(hold["text"]),
            until=_instant(hold["until"]),
            streak=_count(hold["streak"]),
        )
    return state


def _building_key(building: str) -> str:
    """Fold a building ID the way Household stores it."""
    return unicodedata.normalize("NFKC", building).strip()


def _utcnow() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


class EnrolmentPlanner:
    """Turn registry changes, new faces and resyncs into queued operations.

    The registry's listener says only that something changed, so the planner
    keeps a snapshot of what terminals show, ``{resident_id: (name, building)}``,
    and diffs it on each change: one dict comparison when nothing relevant
    changed (a phone number, a vehicle), one pass over the residents otherwise.
    Residents already in the registry when the planner starts produce nothing:
    resync each terminal at startup to catch changes made while stopped.

    ``terminals`` maps each terminal ID to the building it serves.
    """

    def __init__(
        self,
        registry: ResidentsRegistry,
        queue: EnrolmentQueue,
        terminals: Mapping[str, str],
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        """Follow a registry into a queue until close()."""
        self.registry = registry
        self.queue = queue
        self._clock = clock
        self._buildings: dict[str, str] = {}
        self._terminals_by_building: dict[str, list[str]] = {}
        self.set_terminals(terminals)
        self._snapshot = self._read_snapshot()
        self._remove_listener = registry.add_listener(self._registry_changed)

    def close(self) -> None:
        """Stop following the registry."""
        self._remove_listener()

    def set_terminals(self, terminals: Mapping[str, str]) -> None:
        """Replace the terminals and the buildings they serve.

        Resync a terminal that was added; call queue.forget_terminal for one
        that was removed.
        """
        self._buildings = {
            terminal_id: _building_key(building)
            for terminal_id, building in terminals.items()
        }
        self._terminals_by_building = {}
        for terminal_id, building in self._buildings.items():
            self._terminals_by_building.setdefault(building, []).append(terminal_id)

    def building_of(self, terminal_id: str) -> str | None:
        """Return the building a terminal serves, or None for an unknown terminal."""
        return self._buildings.get(terminal_id)

    def terminals_of(self, building: str) -> list[str]:
        """Return the terminals that serve a building."""
        return list(self._terminals_by_building.get(_building_key(building), ()))

    def _read_snapshot(self) -> dict[str, tuple[str, str]]:
        """Return what terminals show of each resident: name and building."""
        return {
            resident.resident_id: (resident.name, resident.household.building)
            for resident in self.registry.residents
        }

    def _registry_changed(self) -> None:
        """Queue what a registry change means for the terminals."""
        if operations := self.plan_changes():
            self.queue.put(operations, self._clock())

    def _on_building(
        self, building: str, resident_id: str, kind: OperationKind
    ) -> list[Operation]:
        """Return one operation per terminal of a building."""
        return [
            Operation(terminal_id, resident_id, kind)
            for terminal_id in self._terminals_by_building.get(building, ())
        ]

    def plan_changes(self) -> list[Operation]:
        """Diff the registry against the snapshot; return the operations, deletes first.

        A new resident is upserted on their building's terminals; a renamed one
        is upserted again; one who moved is deleted from the old building's
        terminals and upserted on the new one's; a removed one is deleted.
        """
        current = self._read_snapshot()
        previous, self._snapshot = self._snapshot, current
        if current == previous:
            return []
        deletes: list[Operation] = []
        upserts: list[Operation] = []
        for resident_id, (name, building) in current.items():
            before = previous.get(resident_id)
            if before == (name, building):
                continue
            if before is not None and before[1] != building:
                deletes += self._on_building(
                    before[1], resident_id, OperationKind.DELETE
                )
            upserts += self._on_building(building, resident_id, OperationKind.UPSERT)
        for resident_id in previous.keys() - current.keys():
            deletes += self._on_building(
                previous[resident_id][1], resident_id, OperationKind.DELETE
            )
        return deletes + upserts

    def plan_face(self, resident_id: str) -> list[Operation]:
        """Return the upserts that carry a new or replaced face to the terminals.

        Raise UnknownResidentError for an unknown resident.
        """
        resident = self.registry.get_resident(resident_id)
        return self._on_building(
            resident.household.building, resident.resident_id, OperationKind.UPSERT
        )

    def face_changed(self, resident_id: str) -> int:
        """Queue the upserts for a new or replaced face; return how many."""
        return self.queue.put(self.plan_face(resident_id), self._clock())

    def plan_resync(
        self,
        terminal_id: str,
        persons_on_terminal: Iterable[Person],
        *,
        force: bool = False,
    ) -> list[Operation]:
        """Return what brings a terminal in line with its building's residents.

        Every resident of the building is upserted, except (unless ``force``)
        one the terminal already shows under their name with a face who this
        queue enrolled there: any later change to them would still be pending.

        A person on the terminal is deleted only if this queue enrolled them
        there and they are no longer a resident of the building. A person the
        integration did not put there is never deleted, even when their
        employee number looks like a resident ID ("9001" may be a plain
        resident ID and a number the management company gave a cleaner). That
        is why the queue records what it enrolled rather than guessing from
        the shape of a number.

        Raise KeyError for an unknown terminal.
        """
        building = self._buildings[terminal_id]
        on_terminal = {person.employee_no: person for person in persons_on_terminal}
        enrolled = self.queue.enrolled(terminal_id)
        wanted: set[str] = set()
        operations: list[Operation] = []
        for resident in self.registry.residents_in_building(building):
            employee_no = employee_no_for(resident.resident_id)
            wanted.add(employee_no)
            person = on_terminal.get(employee_no)
            if (
                not force
                and person is not None
                and resident.resident_id in enrolled
                and person.name == resident.name
                and person.num_of_face > 0
            ):
                continue
            operations.append(
                Operation(terminal_id, resident.resident_id, OperationKind.UPSERT)
            )
        deletes = [
            Operation(terminal_id, resident_id, OperationKind.DELETE)
            for resident_id in sorted(enrolled)
            if (employee_no := employee_no_for(resident_id)) in on_terminal
            and employee_no not in wanted
        ]
        return deletes + operations


def classify_error(error: Exception) -> ErrorKind:
    """Sort an enrolment failure by what fixes it."""
    match error:
        case IsapiConnectionError():
            return ErrorKind.OFFLINE
        case IsapiAuthError() | IsapiLockedError():
            return ErrorKind.AUTH
        case IsapiCapacityError():
            return ErrorKind.CAPACITY_FULL
        case IsapiFaceRejectedError() | UnusableFaceError():
            return ErrorKind.FACE_REJECTED
        case _:
            return ErrorKind.OTHER


def retry_delay(failures: int) -> timedelta:
    """Return the wait after so many failures in a row: 30 s, doubling, at most 30 min."""
    doublings = min(max(failures - 1, 0), _MAX_DOUBLINGS)
    return min(RETRY_FIRST * (1 << doublings), RETRY_MAX)


def _is_missing(error: IsapiNotFoundError) -> bool:
    """Tell a missing person from a missing endpoint (also an IsapiNotFoundError)."""
    return not isinstance(error, IsapiNotSupportedError)


@dataclass(slots=True)
class _Outcome:
    """Say how carrying out one operation went.

    ``on_terminal`` is True once the person is known to be on the terminal,
    False once known to be gone, None when the terminal was not changed.
    """

    error: IsapiError | UnusableFaceError | None = None
    on_terminal: bool | None = None


class EnrolmentWorker:
    """Carry out the queued operations over ISAPI.

    Operations of one terminal run one after another (a lock per terminal);
    terminals are independent and may run concurrently.

    Upsert: a resident this queue enrolled there is modified first (added if
    the terminal lost them), anyone else is added first (modified if the
    number exists, adopting a person already enrolled under the resident's
    number). Then, if the face store has a picture, it is uploaded, replacing
    any face. Without a stored picture the terminal's face is left alone, so a
    face enrolled at the terminal itself survives. If the terminal refuses the
    picture, the person stays enrolled without it and the operation stays
    pending as face_rejected until a new picture arrives or an hour passes.

    Delete: the person and their face are removed; a person already gone
    counts as success.

    Failures, by ErrorKind:
    - offline: the terminal is held, 30 s after the first failure, doubling to
      30 min; the rest of the run is skipped.
    - capacity_full, face_rejected: the operation is retried after an hour (or
      on retry_now). After the terminal reports full, the other additions of
      the run are marked capacity_full without being tried; modifications and
      deletes go on.
    - auth (refused credentials or a locked account): the terminal is held for
      an hour (longer if the lockout lasts longer) or until retry_now, and
      run_once re-raises the error for the glue's reauthentication.
    - other: the operation is retried 30 s later, doubling to 30 min, and the
      run goes on.
    """

    def __init__(self, planner: EnrolmentPlanner) -> None:
        """Work through the planner's queue, reading names from its registry."""
        self._planner = planner
        self._queue = planner.queue
        self._registry = planner.registry
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, terminal_id: str) -> asyncio.Lock:
        """Return the lock that keeps a terminal's work sequential."""
        return self._locks.setdefault(terminal_id, asyncio.Lock())

    def next_due(self, terminal_id: str) -> datetime | None:
        """Return when run_once next has work for a terminal (None: nothing pending)."""
        return self._queue.next_due(terminal_id)

    async def run_once(
        self,
        terminal_id: str,
        client: PersonClient,
        face_store: FaceStore,
        now: datetime,
        *,
        door_right: tuple[int, ...] = (1,),
    ) -> int:
        """Carry out a terminal's due operations; return how many succeeded.

        ``client`` is the terminal's IsapiClient (TerminalHub.client);
        ``door_right`` lists the doors enrolled residents may open. Raise
        IsapiAuthError or IsapiLockedError, after recording it, when the
        terminal refuses the credentials.
        """
        require_aware(now)
        async with self._lock(terminal_id):
            succeeded = 0
            full = False
            for operation in self._queue.due(terminal_id, now):
                if not self._queue.is_current(operation):
                    continue  # replaced while an earlier operation ran
                if (
                    full
                    and operation.kind is OperationKind.UPSERT
                    and not self._queue.is_enrolled(terminal_id, operation.resident_id)
                ):
                    self._queue.fail(
                        operation,
                        ErrorKind.CAPACITY_FULL,
                        "Not tried: the terminal reported that it is full",
                        now + RETRY_HELD,
                        attempted=False,
                    )
                    continue
                outcome = await self._carry_out(
                    operation, client, face_store, door_right
                )
                with self._queue.batch():
                    if outcome.on_terminal is not None:
                        self._queue.set_enrolled(
                            terminal_id, operation.resident_id, outcome.on_terminal
                        )
                    if (error := outcome.error) is None:
                        self._queue.complete(operation)
                        self._queue.clear_hold(terminal_id)
                        succeeded += 1
                        continue
                    kind = self._record_failure(operation, error, now)
                if kind is ErrorKind.AUTH:
                    raise error
                if kind is ErrorKind.OFFLINE:
                    break
                full = full or (
                    kind is ErrorKind.CAPACITY_FULL and outcome.on_terminal is None
                )
            return succeeded

    def _record_failure(
        self,
        operation: PendingOperation,
        error: IsapiError | UnusableFaceError,
        now: datetime,
    ) -> ErrorKind:
        """Record a failure with its backoff; return its kind."""
        terminal_id = operation.terminal_id
        kind = classify_error(error)
        text = str(error)
        match kind:
            case ErrorKind.OFFLINE:
                previous = self._queue.hold(terminal_id)
                streak = 1
                if previous is not None and previous.kind is ErrorKind.OFFLINE:
                    streak += previous.streak
                until = now + retry_delay(streak)
                self._queue.set_hold(
                    terminal_id,
                    TerminalHold(kind=kind, text=text, until=until, streak=streak),
                )
            case ErrorKind.AUTH:
                until = now + RETRY_HELD
                if isinstance(error, IsapiLockedError):
                    until = max(until, now + error.unlock_in)
                self._queue.set_hold(
                    terminal_id, TerminalHold(kind=kind, text=text, until=until)
                )
            case ErrorKind.CAPACITY_FULL | ErrorKind.FACE_REJECTED:
                until = now + RETRY_HELD
                self._queue.clear_hold(terminal_id)
            case _:
                until = now + retry_delay(operation.attempts + 1)
                self._queue.clear_hold(terminal_id)
        self._queue.fail(operation, kind, text, until)
        return kind

    async def _carry_out(
        self,
        operation: PendingOperation,
        client: PersonClient,
        face_store: FaceStore,
        door_right: tuple[int, ...],
    ) -> _Outcome:
        """Make one operation's change on the terminal; never raise ISAPI errors."""
        outcome = _Outcome()
        try:
            resident_name = self._wanted_name(operation)
            if resident_name is None:
                await self._delete(operation, client)
                outcome.on_terminal = False
            else:
                await self._upsert(
                    operation, resident_name, client, face_store, door_right, outcome
                )
        except (IsapiError, UnusableFaceError) as err:
            outcome.error = err
        return outcome

    def _wanted_name(self, operation: PendingOperation) -> str | None:
        """Return the name to enrol, or None if the resident belongs off the terminal.

        An upsert whose resident has left the registry or the terminal's
        building (the planner normally queues a delete instead) is carried out
        as a delete, so the terminal follows the registry either way.
        """
        if operation.kind is OperationKind.DELETE:
            return None
        if operation.resident_id not in self._registry:
            return None
        resident = self._registry.get_resident(operation.resident_id)
        building = self._planner.building_of(operation.terminal_id)
        if building is not None and building != resident.household.building:
            return None
        return resident.name

    async def _delete(self, operation: PendingOperation, client: PersonClient) -> None:
        """Remove a person from the terminal; one already gone is fine."""
        try:
            await client.delete_persons([operation.employee_no])
        except IsapiNotFoundError as err:
            if not _is_missing(err):
                raise

    async def _upsert(
        self,
        operation: PendingOperation,
        name: str,
        client: PersonClient,
        face_store: FaceStore,
        door_right: tuple[int, ...],
        outcome: _Outcome,
    ) -> None:
        """Put the person on the terminal, then their stored face if any."""
        person = Person(
            employee_no=operation.employee_no, name=name, door_right=door_right
        )
        if self._queue.is_enrolled(operation.terminal_id, operation.resident_id):
            # Most upserts of an enrolled resident are renames: one request.
            try:
                await client.modify_person(person)
            except IsapiNotFoundError as err:
                if not _is_missing(err):
                    raise
                await client.add_person(person)
        else:
            try:
                await client.add_person(person)
            except IsapiAlreadyExistsError:
                await client.modify_person(person)
        outcome.on_terminal = True
        jpeg = await face_store.get(operation.resident_id)
        if jpeg is None:
            return
        try:
            await client.upload_face(operation.employee_no, jpeg, replace=True)
        except ValueError as err:
            raise UnusableFaceError(
                f"The stored face picture is unusable: {err}"
            ) from err

    async def resync(
        self,
        terminal_id: str,
        client: PersonClient,
        now: datetime,
        *,
        force: bool = False,
    ) -> int:
        """Read a terminal's persons and queue what brings it in line; count it.

        Enrolments the terminal no longer has (after a reset) are forgotten
        first. ISAPI errors of the person search are raised to the caller.
        See EnrolmentPlanner.plan_resync for what is upserted and deleted.
        """
        require_aware(now)
        async with self._lock(terminal_id):
            persons = await client.search_persons()
            with self._queue.batch():
                self._queue.clear_hold(terminal_id)
                self._queue.reconcile_enrolled(
                    terminal_id, {person.employee_no for person in persons}
                )
                operations = self._planner.plan_resync(
                    terminal_id, persons, force=force
                )
                self._queue.put(operations, now)
            return len(operations)
