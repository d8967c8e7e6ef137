"""Test keeping face terminals' persons in step with the residents registry.

The planner and the queue are tested on their own; the worker is tested against
the simulator's face terminals, run as a subprocess (``start_simulator``), so
every person and face is checked on the peer that stored it. Building 1 has
face-1 (room for three persons), building 2 has face-2.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import hashlib
import io
import json
from pathlib import Path
import time
from typing import Any, Final

import aiohttp
from PIL import Image
import pytest

from custom_components.smart_community.community.enrolment import (
    RETRY_HELD,
    EmployeeNumbers,
    EnrolmentPlanner,
    EnrolmentQueue,
    EnrolmentWorker,
    ErrorKind,
    InvalidEnrolmentDataError,
    Operation,
    OperationKind,
    TerminalHold,
    UnusableFaceError,
    classify_error,
    employee_no_for,
    retry_delay,
)
from custom_components.smart_community.community.errors import UnknownResidentError
from custom_components.smart_community.community.models import Household, Resident
from custom_components.smart_community.community.registry import (
    ResidentRecord,
    ResidentsRegistry,
)
from custom_components.smart_community.protocols.isapi import (
    IsapiAuthError,
    IsapiCapacityError,
    IsapiClient,
    IsapiConnectionTimeoutError,
    IsapiFaceRejectedError,
    IsapiLockedError,
    IsapiNotFoundError,
    IsapiNotSupportedError,
    IsapiResponseError,
    Person,
)
from simulator.scenario import SCENARIO_DIR
from tests.simulator_harness import SimulatorProcess, StartSimulator

from .conftest import Counter

T0: Final = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
TERMINALS: Final = {"face-1": "1", "face-2": "2"}
PASSWORDS: Final = {"face-1": "sim-face-1", "face-2": "sim-face-2"}
FACE_1_OPTIONS: Final = {
    "model": "DS-K1T341AM",
    "serial_number": "SIM-FACE-0101",
    "doors": 1,
    "username": "admin",
    "password": PASSWORDS["face-1"],
    "max_persons": 3,
}
FACE_2_OPTIONS: Final = {
    "model": "DS-K1T671M",
    "serial_number": "SIM-FACE-0201",
    "doors": 1,
    "username": "admin",
    "password": PASSWORDS["face-2"],
}
ONLINE_TIMEOUT: Final = 5.0


def jpeg(seed: int) -> bytes:
    """Draw a real JPEG of a few kilobytes; each seed gives other bytes."""
    image = Image.new("RGB", (160, 200), (200, 150 + seed % 100, 140))
    for x in range(0, 160, 4):
        image.putpixel((x, (x * 7 + seed) % 200), (0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    """Return the hex SHA-256 of bytes, as the simulator reports faces."""
    return hashlib.sha256(data).hexdigest()


class Clock:
    """Give the planner a time the test moves by hand."""

    def __init__(self) -> None:
        """Start at T0."""
        self.now = T0

    def __call__(self) -> datetime:
        """Return the current test time."""
        return self.now


class Faces:
    """Keep face pictures in memory, as the glue's face store does on disk."""

    def __init__(self) -> None:
        """Start without pictures or hook."""
        self.pictures: dict[str, bytes] = {}
        # Called on every read: lets a test change the registry mid-operation.
        self.on_get: Callable[[str], None] | None = None

    async def get(self, resident_id: str) -> bytes | None:
        """Return a resident's picture, or None."""
        if self.on_get is not None:
            self.on_get(resident_id)
        return self.pictures.get(resident_id)


@dataclass
class Community:
    """Wire a registry, queue, planner and worker as the glue does."""

    registry: ResidentsRegistry
    queue: EnrolmentQueue
    planner: EnrolmentPlanner
    worker: EnrolmentWorker
    clock: Clock
    faces: Faces

    def add(self, resident_id: str, name: str, building: str = "1") -> Resident:
        """Add a resident living in unit 1, room 101 of a building."""
        return self.registry.add_resident(
            resident_id=resident_id, name=name, household=f"{building}-1-101"
        )

    def kinds(self, terminal_id: str) -> list[tuple[str, OperationKind]]:
        """Return a terminal's pending operations as (resident, kind) pairs."""
        return [
            (operation.resident_id, operation.kind)
            for operation in self.queue.pending(terminal_id)
        ]


def build_community(
    registry: ResidentsRegistry | None = None, queue: EnrolmentQueue | None = None
) -> Community:
    """Wire the enrolment parts around a registry and a queue."""
    registry = registry or ResidentsRegistry()
    queue = queue or EnrolmentQueue()
    clock = Clock()
    planner = EnrolmentPlanner(registry, queue, TERMINALS, clock=clock)
    return Community(registry, queue, planner, EnrolmentWorker(planner), clock, Faces())


@pytest.fixture
def community() -> Iterator[Community]:
    """Return an empty community with two terminals in two buildings."""
    wired = build_community()
    yield wired
    wired.planner.close()


@pytest.fixture
def sim(start_simulator: StartSimulator, tmp_path: Path) -> SimulatorProcess:
    """Run minimal.json reduced to two face terminals in two buildings."""
    document = json.loads((SCENARIO_DIR / "minimal.json").read_text(encoding="utf-8"))
    document["buildings"].append(
        {"id": "2", "name": "2号楼", "units": 1, "floors": 6, "rooms_per_floor": 2}
    )
    document["devices"] = [
        {
            "id": "face-1",
            "kind": "face_terminal",
            "building": "1",
            "name": "1号楼 单元门禁",
            "options": FACE_1_OPTIONS,
        },
        {
            "id": "face-2",
            "kind": "face_terminal",
            "building": "2",
            "name": "2号楼 单元门禁",
            "options": FACE_2_OPTIONS,
        },
    ]
    path = tmp_path / "enrolment.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return start_simulator(path)


@pytest.fixture
async def session(sim: SimulatorProcess) -> AsyncIterator[aiohttp.ClientSession]:
    """Open the HTTP session the terminals' clients share."""
    # ThreadedResolver: loopback IPs need no resolver thread that outlives the test.
    connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
    async with aiohttp.ClientSession(connector=connector) as client_session:
        yield client_session


def make_client(
    sim: SimulatorProcess,
    session: aiohttp.ClientSession,
    device_id: str,
    password: str | None = None,
) -> IsapiClient:
    """Return an ISAPI client for a simulated terminal."""
    device = sim.device(device_id)
    return IsapiClient(
        host=device["host"],
        port=device["port"],
        username="admin",
        password=password or PASSWORDS[device_id],
        session=session,
        request_timeout=5.0,
        delete_poll_interval=0.02,
    )


@pytest.fixture
def clients(
    sim: SimulatorProcess, session: aiohttp.ClientSession
) -> dict[str, IsapiClient]:
    """Return a client for each terminal."""
    return {device_id: make_client(sim, session, device_id) for device_id in TERMINALS}


async def persons_on(sim: SimulatorProcess, device_id: str) -> dict[str, Any]:
    """Return the persons a simulated terminal holds, by employee number."""
    snapshot = await sim.snapshot(device_id)
    return {person["employee_no"]: person for person in snapshot["state"]["persons"]}


async def wait_online(sim: SimulatorProcess, device_id: str) -> None:
    """Wait until a rebooting terminal serves again."""
    deadline = time.monotonic() + ONLINE_TIMEOUT
    while not (await sim.snapshot(device_id))["state"]["online"]:
        assert time.monotonic() < deadline, f"{device_id} did not come back"
        await asyncio.sleep(0.05)


# --- employee numbers -----------------------------------------------------------


@pytest.mark.parametrize("resident_id", ["9001", "ZhangSan01", "A" * 32])
def test_plain_resident_ids_are_employee_numbers(resident_id: str) -> None:
    """Short ASCII letters-and-digits IDs are used as they are."""
    assert employee_no_for(resident_id) == resident_id


@pytest.mark.parametrize(
    "resident_id", ["A" * 33, "3-2-1201#a", "张三01", "a_b", "x" * 64]
)
def test_other_resident_ids_get_a_stable_derived_number(resident_id: str) -> None:
    """Anything else becomes R plus 31 hex digits of its BLAKE2b digest."""
    number = employee_no_for(resident_id)
    assert len(number) == 32
    assert number[0] == "R"
    int(number[1:], 16)
    assert number == employee_no_for(resident_id)
    assert number != employee_no_for(resident_id + "x")


def test_employee_numbers_follow_the_registry() -> None:
    """Lookups map numbers back to residents and see every registry change."""
    registry = ResidentsRegistry()
    numbers = EmployeeNumbers(registry)
    registry.add_resident(resident_id="9001", name="张三", household="1-1-101")
    registry.add_resident(resident_id="3-2-1201#a", name="李四", household="3-2-1201")
    assert numbers.resident_id_for("9001") == "9001"
    assert numbers.resident_id_for(employee_no_for("3-2-1201#a")) == "3-2-1201#a"
    assert numbers.resident_id_for("9002") is None

    registry.remove_resident("9001")
    registry.add_resident(resident_id="9002", name="王五", household="1-1-102")
    assert numbers.resident_id_for("9001") is None
    assert numbers.resident_id_for("9002") == "9002"

    numbers.close()
    registry.add_resident(resident_id="9003", name="赵六", household="1-1-103")
    assert numbers.resident_id_for("9003") is None  # no longer following


# --- planning and queueing ------------------------------------------------------


def test_planner_follows_resident_changes(community: Community) -> None:
    """Adds, renames, moves and removals become upserts and deletes."""
    community.add("1001", "张三")
    assert community.kinds("face-1") == [("1001", OperationKind.UPSERT)]
    assert community.kinds("face-2") == []

    community.queue.complete(community.queue.pending("face-1")[0])
    community.registry.update_resident("1001", phone="13800138000", tags=["vip"])
    assert community.queue.pending_count() == 0  # terminals show neither

    community.registry.update_resident("1001", name="张三丰")
    assert community.kinds("face-1") == [("1001", OperationKind.UPSERT)]

    community.registry.update_resident("1001", household="2-1-101")
    assert community.kinds("face-1") == [("1001", OperationKind.DELETE)]
    assert community.kinds("face-2") == [("1001", OperationKind.UPSERT)]

    community.registry.remove_resident("1001")
    assert community.kinds("face-1") == [("1001", OperationKind.DELETE)]
    assert community.kinds("face-2") == [("1001", OperationKind.DELETE)]

    community.add("1002", "李四", building="3")  # no terminal there
    assert community.queue.pending_count() == 2


def test_planner_folds_building_ids_and_plans_faces(community: Community) -> None:
    """Terminal buildings match however the ID is written; faces mean upserts."""
    # A full-width digit, as a Chinese input method types it.
    community.planner.set_terminals({"face-1": " \uff11 ", "face-3": "1"})
    assert community.planner.terminals_of("1") == ["face-1", "face-3"]
    community.add("1001", "张三")
    assert community.queue.pending_count() == 2

    community.queue.forget_terminal("face-3")
    community.clock.now = T0 + timedelta(minutes=5)
    assert community.planner.face_changed("1001") == 2
    assert community.queue.get("face-3", "1001") is not None
    assert community.queue.next_due("face-1") == T0 + timedelta(minutes=5)
    with pytest.raises(UnknownResidentError):
        community.planner.plan_face("nobody")


def test_later_operations_replace_earlier_ones(community: Community) -> None:
    """Per terminal and resident only the latest operation stays queued."""
    queue = community.queue
    calls = Counter()
    queue.add_listener(calls)
    upsert = Operation("face-1", "1001", OperationKind.UPSERT)
    delete = Operation("face-1", "1001", OperationKind.DELETE)

    assert queue.put([upsert, delete], T0) == 2
    assert community.kinds("face-1") == [("1001", OperationKind.DELETE)]
    assert calls.calls == 1
    queue.put([upsert], T0)
    assert community.kinds("face-1") == [("1001", OperationKind.UPSERT)]
    assert queue.put([], T0) == 0
    assert calls.calls == 2

    # A bulk import is one registry change, one queue change.
    community.registry.bulk_upsert(
        ResidentRecord(
            Resident(
                resident_id=f"20{n}",
                name=f"住户{n}",
                household=Household("1", "1", f"10{n}"),
                phone=None,
                tags=frozenset(),
                notify_targets=(),
            )
        )
        for n in range(3)
    )
    assert calls.calls == 3
    assert [kind for _, kind in community.kinds("face-1")] == [OperationKind.UPSERT] * 4


def test_deletes_come_first_and_holds_block(community: Community) -> None:
    """Deletes are processed first; a held terminal has nothing due."""
    queue = community.queue
    queue.put([Operation("face-1", "a", OperationKind.UPSERT)], T0)
    queue.put([Operation("face-1", "b", OperationKind.DELETE)], T0)
    assert [operation.resident_id for operation in queue.due("face-1", T0)] == [
        "b",
        "a",
    ]
    queue.set_hold(
        "face-1",
        TerminalHold(kind=ErrorKind.OFFLINE, text="down", until=T0 + retry_delay(1)),
    )
    assert queue.due("face-1", T0 + timedelta(seconds=29)) == []
    assert queue.next_due("face-1") == T0 + timedelta(seconds=30)
    assert len(queue.due("face-1", T0 + timedelta(seconds=30))) == 2
    assert queue.retry_now("face-1", T0) == 0  # already due; the hold is lifted
    assert queue.hold("face-1") is None
    assert queue.next_due("face-2") is None


def test_retry_delays_and_error_kinds() -> None:
    """Backoff doubles from 30 s to 30 min; failures sort by what fixes them."""
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 6, 7, 500)] == [
        30,
        60,
        120,
        960,
        1800,
        1800,
    ]
    assert classify_error(IsapiConnectionTimeoutError("slow")) is ErrorKind.OFFLINE
    assert classify_error(IsapiAuthError("no")) is ErrorKind.AUTH
    assert classify_error(IsapiLockedError(timedelta(1))) is ErrorKind.AUTH
    assert classify_error(IsapiCapacityError("full")) is ErrorKind.CAPACITY_FULL
    assert classify_error(IsapiFaceRejectedError("blur")) is ErrorKind.FACE_REJECTED
    assert classify_error(UnusableFaceError("png")) is ErrorKind.FACE_REJECTED
    assert classify_error(IsapiNotFoundError("?")) is ErrorKind.OTHER


def test_queue_survives_a_json_round_trip(community: Community) -> None:
    """to_dict is JSON and from_dict restores operations, failures, enrolments, holds."""
    queue = community.queue
    queue.put(
        [
            Operation("face-1", "1001", OperationKind.UPSERT),
            Operation("face-1", "1002", OperationKind.DELETE),
            Operation("face-2", "3-2-1201#a", OperationKind.UPSERT),
        ],
        T0,
    )
    failing = queue.get("face-1", "1001")
    assert failing is not None
    queue.fail(failing, ErrorKind.CAPACITY_FULL, "full", T0 + RETRY_HELD)
    queue.set_enrolled("face-1", "1003", True)
    queue.set_enrolled("face-2", "2001", True)
    queue.set_hold(
        "face-2",
        TerminalHold(kind=ErrorKind.OFFLINE, text="down", until=T0, streak=3),
    )

    stored = json.loads(json.dumps(queue.to_dict()))
    restored = EnrolmentQueue.from_dict(stored)

    assert restored.to_dict() == stored
    assert restored.pending("face-1") == queue.pending("face-1")
    assert restored.failures("face-1")[0].last_error is ErrorKind.CAPACITY_FULL
    assert restored.failure_count() == 1
    assert restored.enrolled("face-1") == {"1003"}
    assert restored.hold("face-2") == queue.hold("face-2")
    assert stored["terminals"]["face-1"]["pending"][0] == {
        "resident_id": "1001",
        "kind": "upsert",
        "attempts": 1,
        "last_error": "capacity_full",
        "last_error_text": "full",
        "next_attempt": "2026-05-01T09:00:00+00:00",
    }


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data.update(version=2),
        lambda data: data["terminals"]["face-1"]["pending"][0].update(kind="merge"),
        lambda data: data["terminals"]["face-1"]["pending"][0].update(
            next_attempt="2026-05-01T08:00:00"
        ),
        lambda data: data["terminals"]["face-1"]["pending"][0].update(attempts=-1),
        lambda data: data["terminals"]["face-1"]["pending"].append(
            data["terminals"]["face-1"]["pending"][0]
        ),
        lambda data: data["terminals"]["face-1"].pop("enrolled"),
        lambda data: data["terminals"].update({"face-2": []}),
    ],
)
def test_corrupt_queue_data_is_refused(damage: Callable[[Any], None]) -> None:
    """Damaged or foreign data raises InvalidEnrolmentDataError."""
    queue = EnrolmentQueue()
    queue.put([Operation("face-1", "1001", OperationKind.UPSERT)], T0)
    data = json.loads(json.dumps(queue.to_dict()))
    damage(data)
    with pytest.raises(InvalidEnrolmentDataError):
        EnrolmentQueue.from_dict(data)


def test_resync_plan_deletes_only_what_it_enrolled(community: Community) -> None:
    """Residents are upserted unless up to date; only our own strays are deleted."""
    community.add("1001", "张三")
    community.add("1002", "李四")
    community.add("9001", "保洁", building="2")
    for resident_id in ("1001", "1003"):
        community.queue.set_enrolled("face-1", resident_id, True)
    on_terminal = [
        Person(employee_no="1001", name="张三", num_of_face=1),  # up to date
        Person(employee_no="1003", name="搬走的"),  # ours, no longer in building 1
        Person(employee_no="9001", name="保洁"),  # not ours, though an ID elsewhere
    ]
    plan = community.planner.plan_resync("face-1", on_terminal)
    assert plan == [
        Operation("face-1", "1003", OperationKind.DELETE),
        Operation("face-1", "1002", OperationKind.UPSERT),
    ]
    forced = community.planner.plan_resync("face-1", on_terminal, force=True)
    assert Operation("face-1", "1001", OperationKind.UPSERT) in forced
    with pytest.raises(KeyError):
        community.planner.plan_resync("face-9", [])


# --- the worker against a scripted terminal (paths the simulator cannot take) ---


class ScriptedClient:
    """Play a terminal whose answers a test scripts; record every call."""

    def __init__(self, **script: list[Exception | None]) -> None:
        """Take, per method, the errors its calls raise in turn (None: success)."""
        self.script = script
        self.calls: list[tuple[str, str]] = []

    def _answer(self, method: str, employee_no: str) -> None:
        """Record a call and raise the next scripted error, if any."""
        self.calls.append((method, employee_no))
        if (answers := self.script.get(method)) and (error := answers.pop(0)):
            raise error

    async def add_person(self, person: Person) -> None:
        """Enrol a person, as scripted."""
        self._answer("add_person", person.employee_no)

    async def modify_person(self, person: Person) -> None:
        """Change a person, as scripted."""
        self._answer("modify_person", person.employee_no)

    async def search_persons(
        self, employee_nos: Iterable[str] | None = None
    ) -> list[Person]:
        """Report an empty terminal."""
        return []

    async def delete_persons(self, employee_nos: Iterable[str]) -> None:
        """Remove persons, as scripted."""
        self._answer("delete_persons", ",".join(employee_nos))

    async def upload_face(
        self, employee_no: str, jpeg: bytes, *, replace: bool = False
    ) -> None:
        """Store a face, as scripted."""
        self._answer("upload_face", employee_no)


async def test_other_errors_back_off_per_operation(community: Community) -> None:
    """An unexplained refusal delays that operation only, doubling each time."""
    refusal = IsapiResponseError("Adding person 1001 failed", http_status=500)
    client = ScriptedClient(add_person=[refusal, None, refusal])
    community.add("1001", "张三")
    community.add("1002", "李四")
    worker, queue = community.worker, community.queue

    assert await worker.run_once("face-1", client, community.faces, T0) == 1
    (failed,) = queue.failures("face-1")
    assert (failed.last_error, failed.attempts) == (ErrorKind.OTHER, 1)
    assert failed.next_attempt == T0 + timedelta(seconds=30)
    assert queue.hold("face-1") is None

    later = T0 + timedelta(seconds=30)
    assert await worker.run_once("face-1", client, community.faces, later) == 0
    (failed,) = queue.failures("face-1")
    assert failed.next_attempt == later + timedelta(seconds=60)
    assert failed.last_error_text == str(refusal)


async def test_a_locked_account_holds_until_it_unlocks(community: Community) -> None:
    """A lockout is an auth failure held at least until the terminal unlocks."""
    client = ScriptedClient(add_person=[IsapiLockedError(timedelta(hours=2))])
    community.add("1001", "张三")
    with pytest.raises(IsapiLockedError):
        await community.worker.run_once("face-1", client, community.faces, T0)
    hold = community.queue.hold("face-1")
    assert hold is not None
    assert (hold.kind, hold.until) == (ErrorKind.AUTH, T0 + timedelta(hours=2))


async def test_upserts_follow_the_registry_when_run(community: Community) -> None:
    """An upsert for a resident who left the building or registry deletes instead."""
    community.add("1001", "张三")
    community.add("1002", "李四")
    community.planner.close()  # the planner misses what follows
    community.registry.update_resident("1001", household="2-1-101")
    community.registry.remove_resident("1002")
    client = ScriptedClient()
    community.queue.set_enrolled("face-1", "1001", True)

    assert await community.worker.run_once("face-1", client, community.faces, T0) == 2
    assert client.calls == [("delete_persons", "1001"), ("delete_persons", "1002")]
    assert community.queue.enrolled("face-1") == frozenset()


async def test_deletes_of_absent_persons_succeed(community: Community) -> None:
    """A person already gone is deleted; a missing endpoint is a failure."""
    gone = IsapiNotFoundError("no person", sub_status_code="employeeNoNotExist")
    unsupported = IsapiNotSupportedError("no endpoint", http_status=404)
    client = ScriptedClient(delete_persons=[gone, unsupported])
    community.queue.put(
        [
            Operation("face-1", "1001", OperationKind.DELETE),
            Operation("face-1", "1002", OperationKind.DELETE),
        ],
        T0,
    )
    assert await community.worker.run_once("face-1", client, community.faces, T0) == 1
    (failed,) = community.queue.failures("face-1")
    assert (failed.resident_id, failed.last_error) == ("1002", ErrorKind.OTHER)


async def test_operations_replaced_before_their_turn_wait(community: Community) -> None:
    """An operation replaced while an earlier one ran is left to the next run."""
    community.add("1001", "张三")
    community.add("1002", "李四")

    def rename_the_next(resident_id: str) -> None:
        """Rename 1002 while 1001 is being enrolled."""
        community.faces.on_get = None
        community.registry.update_resident("1002", name="李四海")

    community.faces.on_get = rename_the_next
    client = ScriptedClient()
    assert await community.worker.run_once("face-1", client, community.faces, T0) == 1
    assert client.calls == [("add_person", "1001")]
    assert community.kinds("face-1") == [("1002", OperationKind.UPSERT)]


# --- the worker against the simulated terminals ---------------------------------


async def test_upsert_rename_new_face_and_delete(
    community: Community, sim: SimulatorProcess, clients: dict[str, IsapiClient]
) -> None:
    """Persons and faces land on the terminal, follow renames and go on removal."""
    worker, faces, client = community.worker, community.faces, clients["face-1"]
    # Someone enrolled 1001 at the terminal itself: the resident adopts it.
    await sim.action("face-1", "enroll_person", {"employee_no": "1001", "name": "?"})
    faces.pictures["1001"] = jpeg(1)
    community.add("1001", "张三")
    community.add("3-2-1201#a", "李四")
    derived = employee_no_for("3-2-1201#a")

    assert await worker.run_once("face-1", client, faces, T0) == 2
    persons = await persons_on(sim, "face-1")
    assert persons["1001"]["name"] == "张三"
    assert persons["1001"]["face_sha256"] == sha256(jpeg(1))
    assert persons[derived] == {
        "employee_no": derived,
        "name": "李四",
        "has_face": False,
        "face_sha256": None,
    }
    assert community.queue.enrolled("face-1") == {"1001", "3-2-1201#a"}
    assert community.queue.pending_count() == 0
    assert worker.next_due("face-1") is None

    community.registry.update_resident("1001", name="张三丰")
    assert await worker.run_once("face-1", client, faces, T0) == 1
    persons = await persons_on(sim, "face-1")
    assert persons["1001"]["name"] == "张三丰"
    assert persons["1001"]["face_sha256"] == sha256(jpeg(1))

    faces.pictures["1001"] = jpeg(2)
    community.planner.face_changed("1001")
    assert await worker.run_once("face-1", client, faces, T0) == 1
    assert (await persons_on(sim, "face-1"))["1001"]["face_sha256"] == sha256(jpeg(2))

    community.registry.remove_resident("1001")
    community.registry.remove_resident("3-2-1201#a")
    assert await worker.run_once("face-1", client, faces, T0) == 2
    assert await persons_on(sim, "face-1") == {}
    assert community.queue.enrolled("face-1") == frozenset()
    assert community.queue.terminal_ids == []


async def test_a_move_changes_terminals(
    community: Community, sim: SimulatorProcess, clients: dict[str, IsapiClient]
) -> None:
    """Moving to another building deletes from one terminal, enrols on the other."""
    worker, faces = community.worker, community.faces
    faces.pictures["1001"] = jpeg(3)
    community.add("1001", "张三")
    assert await worker.run_once("face-1", clients["face-1"], faces, T0) == 1

    community.registry.update_resident("1001", household="2-1-201")
    assert await worker.run_once("face-1", clients["face-1"], faces, T0) == 1
    assert await worker.run_once("face-2", clients["face-2"], faces, T0) == 1
    assert await persons_on(sim, "face-1") == {}
    assert (await persons_on(sim, "face-2"))["1001"]["face_sha256"] == sha256(jpeg(3))
    assert community.queue.enrolled("face-1") == frozenset()
    assert community.queue.enrolled("face-2") == {"1001"}


async def test_an_offline_terminal_is_retried_with_backoff(
    community: Community, sim: SimulatorProcess, clients: dict[str, IsapiClient]
) -> None:
    """Unreachable: operations stay, the terminal waits 30 s, then 60 s, then works."""
    worker, queue, faces = community.worker, community.queue, community.faces
    community.add("1001", "张三")
    community.add("1002", "李四")
    await sim.action("face-1", "reboot", {"seconds": 1.0})

    assert await worker.run_once("face-1", clients["face-1"], faces, T0) == 0
    hold = queue.hold("face-1")
    assert hold is not None
    assert (hold.kind, hold.until, hold.streak) == (
        ErrorKind.OFFLINE,
        T0 + timedelta(seconds=30),
        1,
    )
    first, second = queue.pending("face-1")
    assert (first.attempts, first.last_error) == (1, ErrorKind.OFFLINE)
    assert (second.attempts, second.last_error) == (0, None)  # not tried
    assert worker.next_due("face-1") == T0 + timedelta(seconds=30)
    assert queue.due("face-1", T0 + timedelta(seconds=10)) == []

    later = T0 + timedelta(seconds=30)
    assert await worker.run_once("face-1", clients["face-1"], faces, later) == 0
    assert worker.next_due("face-1") == later + timedelta(seconds=60)

    await wait_online(sim, "face-1")
    back = later + timedelta(seconds=60)
    assert await worker.run_once("face-1", clients["face-1"], faces, back) == 2
    assert queue.hold("face-1") is None
    assert set(await persons_on(sim, "face-1")) == {"1001", "1002"}


async def test_a_full_terminal_keeps_operations_and_reports_them(
    community: Community, sim: SimulatorProcess, clients: dict[str, IsapiClient]
) -> None:
    """Capacity errors keep the upserts for an hour; deletes free room first."""
    worker, queue, faces = community.worker, community.queue, community.faces
    client = clients["face-1"]
    for number in range(1, 5):
        community.add(f"100{number}", f"住户{number}")

    assert await worker.run_once("face-1", client, faces, T0) == 3
    (failed,) = queue.failures("face-1")
    assert (failed.resident_id, failed.last_error, failed.attempts) == (
        "1004",
        ErrorKind.CAPACITY_FULL,
        1,
    )
    assert failed.next_attempt == T0 + RETRY_HELD
    assert worker.next_due("face-1") == T0 + RETRY_HELD

    # The delete runs before the held upsert, which retry_now brings forward.
    community.registry.remove_resident("1001")
    assert queue.retry_now("face-1", T0) == 1
    assert await worker.run_once("face-1", client, faces, T0) == 2
    assert set(await persons_on(sim, "face-1")) == {"1002", "1003", "1004"}

    # Once the terminal says full, further additions are not even tried;
    # renames of enrolled residents still go through.
    await sim.action("face-1", "set_full", {"full": True})
    community.add("1005", "住户5")
    community.add("1006", "住户6")
    community.registry.update_resident("1002", name="住户二")
    assert await worker.run_once("face-1", client, faces, T0) == 1
    tried, skipped = queue.failures("face-1")
    assert (tried.resident_id, tried.attempts) == ("1005", 1)
    assert (skipped.resident_id, skipped.attempts) == ("1006", 0)
    assert skipped.last_error is ErrorKind.CAPACITY_FULL
    assert queue.failure_count("face-1") == 2
    assert (await persons_on(sim, "face-1"))["1002"]["name"] == "住户二"


async def test_a_rejected_face_keeps_the_person_without_it(
    community: Community, sim: SimulatorProcess, clients: dict[str, IsapiClient]
) -> None:
    """The person is enrolled, the upsert waits as face_rejected for a new picture."""
    worker, queue, faces = community.worker, community.queue, community.faces
    faces.pictures["1001"] = b"\xff\xd8" + bytes(100)  # too small to hold a face
    faces.pictures["1002"] = b"\x89PNG\r\n\x1a\n"  # not even a JPEG
    community.add("1001", "张三")
    community.add("1002", "李四")

    assert await worker.run_once("face-1", clients["face-1"], faces, T0) == 0
    persons = await persons_on(sim, "face-1")
    assert not persons["1001"]["has_face"]
    assert not persons["1002"]["has_face"]
    assert queue.enrolled("face-1") == {"1001", "1002"}
    bad, unusable = queue.failures("face-1")
    assert bad.last_error is ErrorKind.FACE_REJECTED
    assert bad.last_error_text is not None
    assert "faceQualityNotGood" in bad.last_error_text
    assert unusable.last_error is ErrorKind.FACE_REJECTED
    assert bad.next_attempt == T0 + RETRY_HELD

    faces.pictures["1001"] = jpeg(4)
    community.planner.face_changed("1001")
    assert await worker.run_once("face-1", clients["face-1"], faces, T0) == 1
    assert (await persons_on(sim, "face-1"))["1001"]["face_sha256"] == sha256(jpeg(4))
    assert [operation.resident_id for operation in queue.failures("face-1")] == ["1002"]


async def test_refused_credentials_hold_the_terminal(
    community: Community, sim: SimulatorProcess, session: aiohttp.ClientSession
) -> None:
    """An auth failure is raised for reauth and holds the terminal's operations."""
    worker, queue, faces = community.worker, community.queue, community.faces
    wrong = make_client(sim, session, "face-2", password="wrong")
    community.add("2001", "王五", building="2")
    community.add("2002", "赵六", building="2")

    with pytest.raises(IsapiAuthError):
        await worker.run_once("face-2", wrong, faces, T0)
    hold = queue.hold("face-2")
    assert hold is not None
    assert (hold.kind, hold.until) == (ErrorKind.AUTH, T0 + RETRY_HELD)
    assert queue.pending_count("face-2") == 2
    # Held: no further logins (each would count towards a lockout).
    assert await worker.run_once("face-2", wrong, faces, T0 + timedelta(minutes=1)) == 0

    queue.retry_now("face-2", T0)
    right = make_client(sim, session, "face-2")
    assert await worker.run_once("face-2", right, faces, T0) == 2


async def test_resync_recreates_everyone_after_a_reset(
    community: Community, sim: SimulatorProcess, clients: dict[str, IsapiClient]
) -> None:
    """A wiped terminal gets its building's residents and faces back."""
    worker, faces, client = community.worker, community.faces, clients["face-1"]
    faces.pictures["1001"] = jpeg(5)
    community.add("1001", "张三")
    community.add("1002", "李四")
    assert await worker.run_once("face-1", client, faces, T0) == 2
    assert await worker.resync("face-1", client, T0) == 1  # 1002 has no face

    await sim.action("face-1", "reset")
    # Before any resync: the rename finds 1002 gone and enrols them again.
    community.registry.update_resident("1002", name="李四海")
    assert await worker.run_once("face-1", client, faces, T0) == 1
    assert await worker.resync("face-1", client, T0) == 2
    assert community.queue.enrolled("face-1") == {"1002"}
    assert await worker.run_once("face-1", client, faces, T0) == 2
    persons = await persons_on(sim, "face-1")
    assert persons["1001"]["face_sha256"] == sha256(jpeg(5))
    assert persons["1002"]["name"] == "李四海"
    assert await worker.resync("face-1", client, T0, force=True) == 2


async def test_resync_never_deletes_foreign_persons(
    community: Community, sim: SimulatorProcess, clients: dict[str, IsapiClient]
) -> None:
    """Only persons this queue enrolled are deleted, whatever their number."""
    worker, faces, client = community.worker, community.faces, clients["face-1"]
    await sim.action("face-1", "enroll_person", {"employee_no": "9001"})
    community.add("9001", "保洁", building="2")  # the same number, elsewhere
    community.add("1001", "张三")
    assert await worker.run_once("face-1", client, faces, T0) == 1

    # A removal the planner never saw (a crash before the queue was saved).
    community.planner.close()
    community.registry.remove_resident("1001")
    community.planner = EnrolmentPlanner(
        community.registry, community.queue, TERMINALS, clock=community.clock
    )
    community.worker = EnrolmentWorker(community.planner)

    assert await community.worker.resync("face-1", client, T0) == 1
    assert community.kinds("face-1") == [("1001", OperationKind.DELETE)]
    assert await community.worker.run_once("face-1", client, faces, T0) == 1
    assert set(await persons_on(sim, "face-1")) == {"9001"}


async def test_an_operation_replaced_mid_flight_runs_again(
    community: Community, sim: SimulatorProcess, clients: dict[str, IsapiClient]
) -> None:
    """A rename during an upsert queues a new upsert that is not lost."""
    worker, faces, client = community.worker, community.faces, clients["face-1"]
    community.add("1001", "张三")

    def rename_once(resident_id: str) -> None:
        """Rename the resident while the worker is between requests."""
        faces.on_get = None
        community.registry.update_resident(resident_id, name="张三丰")

    faces.on_get = rename_once
    assert await worker.run_once("face-1", client, faces, T0) == 1
    assert (await persons_on(sim, "face-1"))["1001"]["name"] == "张三"
    assert community.kinds("face-1") == [("1001", OperationKind.UPSERT)]
    assert await worker.run_once("face-1", client, faces, T0) == 1
    assert (await persons_on(sim, "face-1"))["1001"]["name"] == "张三丰"


async def test_a_restored_queue_carries_on(
    community: Community, sim: SimulatorProcess, clients: dict[str, IsapiClient]
) -> None:
    """After a restart the stored queue still knows what it enrolled."""
    faces, client = community.faces, clients["face-1"]
    community.add("1001", "张三")
    assert await community.worker.run_once("face-1", client, faces, T0) == 1
    community.registry.update_resident("1001", name="张三丰")
    stored = json.loads(json.dumps(community.queue.to_dict()))
    community.planner.close()

    restarted = build_community(
        ResidentsRegistry.from_dict(community.registry.to_dict()),
        EnrolmentQueue.from_dict(stored),
    )
    assert restarted.queue.is_enrolled("face-1", "1001")
    assert await restarted.worker.run_once("face-1", client, faces, T0) == 1
    assert (await persons_on(sim, "face-1"))["1001"]["name"] == "张三丰"
    restarted.planner.close()
