"""Load and validate scenario files: the community, its buildings and its devices.

A scenario is a JSON object::

    {
      "community": {"name": "荣悦台", "name_en": "...", "description": "..."},
      "buildings": [{"id": "1", "name": "1号楼", "units": 2, "floors": 18,
                     "rooms_per_floor": 2}],
      "devices": [{"id": "face-1", "kind": "face_terminal", "building": "1",
                   "name": "...", "port": 0, "options": {...}}]
    }

``building`` may be ``null`` for site-wide devices (the main gate, the fire control
room); ``port`` is optional (0 picks a free port); ``options`` is free-form and read
by the device kind's implementation. Keys starting with ``_`` are comments and ignored.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
import json
from pathlib import Path
import re
from typing import Final, cast, override

from simulator.jsonvalue import JSONObject
from simulator.kinds import DeviceKind

SCENARIO_DIR: Final = Path(__file__).parent / "scenarios"

# Device ids appear in control-API URLs, so they stay URL-safe without quoting.
_DEVICE_ID_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_-]*")
_MAX_PORT: Final = 65535


class ScenarioError(Exception):
    """Report why a scenario cannot be used, naming the file and the offending items."""

    def __init__(self, source: str | Path, problems: Sequence[str]) -> None:
        """Keep the scenario's file (or reference) and every problem found in it."""
        self.source = str(source)
        self.problems = tuple(problems)
        super().__init__(self.source, self.problems)

    @override
    def __str__(self) -> str:
        """Name the file, then list one problem per line."""
        if len(self.problems) == 1:
            return f"invalid scenario {self.source}: {self.problems[0]}"
        lines = "".join(f"\n  - {problem}" for problem in self.problems)
        return f"invalid scenario {self.source}:{lines}"


@dataclass(frozen=True, slots=True)
class Community:
    """Describe the residential community (小区) the scenario plays."""

    name: str
    name_en: str | None = None
    description: str | None = None

    def to_json(self) -> JSONObject:
        """Return the community as the JSON object the simulator publishes."""
        return {
            "name": self.name,
            "name_en": self.name_en,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class Building:
    """Describe one building (楼栋): its units (单元), floors and households per floor."""

    id: str
    name: str
    units: int
    floors: int
    # Households per floor in each unit, as in "一梯两户".
    rooms_per_floor: int

    @property
    def households(self) -> int:
        """Count the building's households."""
        return self.units * self.floors * self.rooms_per_floor

    def to_json(self) -> JSONObject:
        """Return the building as the JSON object the simulator publishes."""
        return {
            "id": self.id,
            "name": self.name,
            "units": self.units,
            "floors": self.floors,
            "rooms_per_floor": self.rooms_per_floor,
            "households": self.households,
        }


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """Describe one device as the scenario file declares it."""

    id: str
    kind: DeviceKind
    name: str
    building: str | None = None
    # 0 lets the device pick a free port; a fixed port keeps a demo setup stable.
    port: int = 0
    options: JSONObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scenario:
    """Hold a validated scenario: the community, its buildings and its devices."""

    name: str
    source: Path
    community: Community
    buildings: tuple[Building, ...]
    devices: tuple[DeviceSpec, ...]

    def building(self, building_id: str) -> Building:
        """Return the building with this id."""
        for building in self.buildings:
            if building.id == building_id:
                return building
        raise KeyError(building_id)


def builtin_scenarios() -> list[str]:
    """List the names of the scenarios shipped in ``simulator/scenarios``."""
    return sorted(path.stem for path in SCENARIO_DIR.glob("*.json"))


def resolve_scenario(reference: str | Path) -> tuple[str, Path]:
    """Turn a built-in scenario name or a file path into a name and a file."""
    text = str(reference)
    if isinstance(reference, Path) or text.endswith(".json") or "/" in text:
        path = Path(reference)
        return path.stem, path
    path = SCENARIO_DIR / f"{text}.json"
    if not path.is_file():
        known = ", ".join(builtin_scenarios()) or "none"
        raise ScenarioError(
            text,
            [
                f"no built-in scenario named {text!r} (built-in: {known}); "
                "pass the path of a .json file instead"
            ],
        )
    return text, path


def load_scenario(reference: str | Path) -> Scenario:
    """Read, parse and validate a scenario given by built-in name or file path."""
    name, path = resolve_scenario(reference)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(path, [f"cannot read the file: {error.strerror}"]) from None
    except UnicodeDecodeError as error:
        raise ScenarioError(path, [f"the file is not UTF-8: {error.reason}"]) from None
    try:
        document: object = json.loads(text)
    except json.JSONDecodeError as error:
        raise ScenarioError(
            path,
            [
                f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            ],
        ) from None
    return parse_scenario(document, name=name, source=path)


def parse_scenario(document: object, *, name: str, source: Path) -> Scenario:
    """Validate a decoded scenario document, reporting every problem at once."""
    problems: list[str] = []
    top = _ObjectReader(document, "the scenario", problems)
    top.reject_unknown_keys({"community", "buildings", "devices"})

    community = _read_community(top.get("community", required=True), problems)
    buildings = _read_buildings(top.get_list("buildings", required=False), problems)
    building_ids = {building.id for building in buildings}
    devices = _read_devices(
        top.get_list("devices", required=True), building_ids, problems
    )

    if problems or community is None:
        raise ScenarioError(source, problems)
    return Scenario(
        name=name,
        source=source,
        community=community,
        buildings=tuple(buildings),
        devices=tuple(devices),
    )


class _ObjectReader:
    """Read typed fields of one JSON object, recording a problem for each bad field."""

    def __init__(self, value: object, where: str, problems: list[str]) -> None:
        """Wrap ``value``, which should be a JSON object, found at ``where``."""
        self.where = where
        self.problems = problems
        self.fields: dict[str, object] = {}
        self.valid = isinstance(value, dict)
        if isinstance(value, dict):
            self.fields = cast(dict[str, object], value)
        else:
            self.problem(f"must be a JSON object, not {_json_type(value)}")

    def problem(self, message: str) -> None:
        """Record a problem about this object."""
        self.problems.append(f"{self.where}: {message}")

    def reject_unknown_keys(self, allowed: Iterable[str]) -> None:
        """Record a problem for every key that is neither known nor a ``_`` comment."""
        allowed_keys = set(allowed)
        for key in self.fields:
            if key not in allowed_keys and not key.startswith("_"):
                known = ", ".join(sorted(allowed_keys))
                self.problem(f"unknown key {key!r} (known keys: {known})")

    def get(self, key: str, *, required: bool) -> object:
        """Return a field's raw value; record a problem if a required one is missing."""
        if key not in self.fields:
            if required and self.valid:
                self.problem(f"missing required key {key!r}")
            return None
        return self.fields[key]

    def get_text(self, key: str, *, required: bool) -> str | None:
        """Return a non-empty string field."""
        value = self.get(key, required=required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{key!r} must be a non-empty string, not {value!r}")
            return None
        return value

    def get_int(self, key: str, *, minimum: int, maximum: int | None = None) -> int:
        """Return a required integer within bounds, or ``minimum`` if it is bad."""
        value = self.get(key, required=True)
        if value is None:
            return minimum
        # bool is an int subclass, but "floors": true is a mistake, not 1.
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < minimum
            or (maximum is not None and value > maximum)
        ):
            bounds = f">= {minimum}" if maximum is None else f"{minimum}..{maximum}"
            self.problem(f"{key!r} must be an integer {bounds}, not {value!r}")
            return minimum
        return value

    def get_list(self, key: str, *, required: bool) -> list[object]:
        """Return a list field (empty when absent or bad)."""
        value = self.get(key, required=required)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(f"{key!r} must be a JSON array, not {_json_type(value)}")
            return []
        return cast(list[object], value)


def _read_community(value: object, problems: list[str]) -> Community | None:
    """Validate the ``community`` object."""
    if value is None:
        return None
    reader = _ObjectReader(value, "community", problems)
    reader.reject_unknown_keys({"name", "name_en", "description"})
    name = reader.get_text("name", required=True)
    name_en = reader.get_text("name_en", required=False)
    description = reader.get_text("description", required=False)
    if name is None:
        return None
    return Community(name=name, name_en=name_en, description=description)


def _read_buildings(items: list[object], problems: list[str]) -> list[Building]:
    """Validate the ``buildings`` array, rejecting duplicate ids."""
    buildings: list[Building] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(items):
        where = _item_label("buildings", index, item)
        reader = _ObjectReader(item, where, problems)
        reader.reject_unknown_keys({"id", "name", "units", "floors", "rooms_per_floor"})
        building_id = reader.get_text("id", required=True)
        name = reader.get_text("name", required=True)
        units = reader.get_int("units", minimum=1)
        floors = reader.get_int("floors", minimum=1)
        rooms_per_floor = reader.get_int("rooms_per_floor", minimum=1)
        if building_id is None or name is None:
            continue
        if building_id in first_index:
            reader.problem(
                f"duplicate building id {building_id!r} "
                f"(also buildings[{first_index[building_id]}])"
            )
            continue
        first_index[building_id] = index
        buildings.append(
            Building(
                id=building_id,
                name=name,
                units=units,
                floors=floors,
                rooms_per_floor=rooms_per_floor,
            )
        )
    return buildings


def _read_devices(
    items: list[object], building_ids: set[str], problems: list[str]
) -> list[DeviceSpec]:
    """Validate the ``devices`` array: known kinds, unique ids, existing buildings."""
    devices: list[DeviceSpec] = []
    first_index: dict[str, int] = {}
    known_kinds = ", ".join(sorted(DeviceKind))
    for index, item in enumerate(items):
        where = _item_label("devices", index, item)
        reader = _ObjectReader(item, where, problems)
        reader.reject_unknown_keys(
            {"id", "kind", "building", "name", "port", "options"}
        )
        device_id = reader.get_text("id", required=True)
        kind_text = reader.get_text("kind", required=True)
        name = reader.get_text("name", required=True)
        building = reader.get("building", required=False)
        port = reader.get("port", required=False)
        options = reader.get("options", required=False)

        kind: DeviceKind | None = None
        if kind_text is not None:
            if kind_text in DeviceKind:
                kind = DeviceKind(kind_text)
            else:
                reader.problem(
                    f"unknown kind {kind_text!r} (known kinds: {known_kinds})"
                )
        if device_id is not None:
            if not _DEVICE_ID_PATTERN.fullmatch(device_id):
                reader.problem(
                    f"device id {device_id!r} must be lowercase letters, digits, "
                    "'-' and '_', starting with a letter or digit"
                )
            elif device_id in first_index:
                reader.problem(
                    f"duplicate device id {device_id!r} "
                    f"(also devices[{first_index[device_id]}])"
                )
            else:
                first_index[device_id] = index
        if building is not None and not isinstance(building, str):
            reader.problem(
                f"'building' must be a building id or null, not {building!r}"
            )
            building = None
        if isinstance(building, str) and building not in building_ids:
            known = ", ".join(sorted(building_ids)) or "none"
            reader.problem(f"unknown building {building!r} (buildings: {known})")
        port_number = (
            0 if port is None else reader.get_int("port", minimum=0, maximum=_MAX_PORT)
        )
        if options is not None and not isinstance(options, dict):
            reader.problem(
                f"'options' must be a JSON object, not {_json_type(options)}"
            )
            options = None

        if device_id is None or kind is None or name is None:
            continue
        devices.append(
            DeviceSpec(
                id=device_id,
                kind=kind,
                name=name,
                building=building,
                port=port_number,
                options=cast(JSONObject, options or {}),
            )
        )
    return devices


def _item_label(array: str, index: int, item: object) -> str:
    """Name an array item for error messages, with its id when it has one."""
    if isinstance(item, dict) and isinstance(item_id := item.get("id"), str):
        return f"{array}[{index}] (id {item_id!r})"
    return f"{array}[{index}]"


def _json_type(value: object) -> str:
    """Name a decoded JSON value's type the way the file's author wrote it."""
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "an object"
        case _:
            return type(value).__name__
