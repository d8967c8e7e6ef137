"""Resident activity: what shows that a watched resident is up and about.

Residents tagged ``elderly_living_alone`` are watched. Each may have sources
linked: entities of their home (door contacts, presence sensors, water and
energy meters), a BLE tag and a BLE button. The log keeps, per resident, the
latest sign of activity from any source, including their access at terminals
and their face at cameras, and says when they count as inactive.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
import re
from typing import Any, Final, Self

from ..protocols.ble import BleFormatError, normalize_ibeacon, normalize_mac
from .errors import InvalidResidentError
from .listeners import Listeners

STORAGE_VERSION: Final = 1
DEFAULT_INACTIVE_AFTER: Final = timedelta(hours=12)
MIN_INACTIVE_AFTER: Final = timedelta(minutes=1)
MAX_INACTIVE_AFTER: Final = timedelta(days=7)
_ENTITY_ID: Final = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+")


class ActivitySource(StrEnum):
    """Where a sign of activity came from."""

    ACCESS = "access"
    FACE = "face"
    DOOR = "door"
    PRESENCE = "presence"
    WATER = "water"
    ENERGY = "energy"
    BLE_TAG = "ble_tag"
    CHECK_IN = "check_in"


@dataclass(frozen=True, slots=True)
class Activity:
    """One sign of activity."""

    at: datetime
    source: ActivitySource
    # What showed it: an entity ID, a terminal's name, a tag.
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Sos:
    """A call for help: which button, and how it was pressed."""

    at: datetime
    source: str
    press: str


@dataclass(frozen=True, slots=True)
class ActivityLinks:
    """The sources linked to one resident, and how long quiet is too long."""

    entities: tuple[str, ...] = ()
    ble_tag: str | None = None
    ble_button: str | None = None
    inactive_after: timedelta = DEFAULT_INACTIVE_AFTER

    def __post_init__(self) -> None:
        """Normalise every field; raise InvalidResidentError for a bad one."""
        entities: dict[str, None] = {}
        for raw in self.entities:
            entity_id = raw.strip().lower()
            if not _ENTITY_ID.fullmatch(entity_id):
                raise InvalidResidentError(
                    f"{raw.strip()!r} is not an entity ID", "entities"
                )
            entities[entity_id] = None
        object.__setattr__(self, "entities", tuple(entities))
        object.__setattr__(self, "ble_tag", _tag(self.ble_tag))
        if self.ble_button is not None:
            try:
                object.__setattr__(self, "ble_button", normalize_mac(self.ble_button))
            except BleFormatError as err:
                raise InvalidResidentError(str(err), "ble_button") from err
        if not MIN_INACTIVE_AFTER <= self.inactive_after <= MAX_INACTIVE_AFTER:
            raise InvalidResidentError(
                "inactivity is counted after 1 minute to 7 days", "inactive_after"
            )


def _tag(text: str | None) -> str | None:
    """Normalise a tag: a Bluetooth address, or an iBeacon's UUID_major_minor."""
    if text is None or not text.strip():
        return None
    try:
        return normalize_mac(text)
    except BleFormatError:
        pass
    try:
        return normalize_ibeacon(text)
    except BleFormatError as err:
        raise InvalidResidentError(
            f"{text.strip()!r} is neither a Bluetooth address nor an iBeacon's"
            " UUID_major_minor",
            "ble_tag",
        ) from err


class ActivityLog:
    """The latest activity and the linked sources of every watched resident."""

    def __init__(self) -> None:
        """Start with nobody watched."""
        self._links: dict[str, ActivityLinks] = {}
        self._last: dict[str, Activity] = {}
        # When watching began: quiet counts from here until a first activity.
        self._watched_since: dict[str, datetime] = {}
        self._listeners: Listeners[str] = Listeners()
        self._links_listeners: Listeners[()] = Listeners()
        self._sos_listeners: Listeners[str, Sos] = Listeners()

    def add_listener(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call back with a resident ID whenever their activity or links change."""
        return self._listeners.add(callback)

    def add_sos_listener(
        self, callback: Callable[[str, Sos], None]
    ) -> Callable[[], None]:
        """Call back with a resident ID and the call whenever someone calls for help."""
        return self._sos_listeners.add(callback)

    def call_for_help(self, resident_id: str, sos: Sos) -> None:
        """Pass on a resident's call for help (watched or not: help is never dropped)."""
        self._sos_listeners.notify(resident_id, sos)

    def add_links_listener(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call back whenever any resident's linked sources change."""
        return self._links_listeners.add(callback)

    def watch(self, resident_ids: Iterable[str], now: datetime) -> bool:
        """Watch exactly these residents; forget the rest. Return whether it changed."""
        wanted = set(resident_ids)
        changed = False
        for resident_id in wanted - self._watched_since.keys():
            self._watched_since[resident_id] = now
            changed = True
        for resident_id in self._watched_since.keys() - wanted:
            del self._watched_since[resident_id]
            self._last.pop(resident_id, None)
            changed = True
        return changed

    def forget(self, residents: Iterable[str]) -> bool:
        """Drop links of people who are no longer residents; return whether any went."""
        kept = set(residents)
        gone = [resident_id for resident_id in self._links if resident_id not in kept]
        for resident_id in gone:
            del self._links[resident_id]
        if gone:
            self._links_listeners.notify()
        return bool(gone)

    @property
    def watched(self) -> frozenset[str]:
        """Return the residents being watched."""
        return frozenset(self._watched_since)

    def links(self, resident_id: str) -> ActivityLinks:
        """Return a resident's linked sources (none by default)."""
        return self._links.get(resident_id, ActivityLinks())

    def all_links(self) -> Mapping[str, ActivityLinks]:
        """Return every resident's linked sources."""
        return self._links

    def link(self, resident_id: str, links: ActivityLinks) -> None:
        """Replace a resident's linked sources; a tag or button has one owner."""
        for other, existing in self._links.items():
            if other == resident_id:
                continue
            if links.ble_tag is not None and links.ble_tag == existing.ble_tag:
                raise InvalidResidentError(
                    f"the tag {links.ble_tag} is linked to another resident", "ble_tag"
                )
            if links.ble_button is not None and links.ble_button == existing.ble_button:
                raise InvalidResidentError(
                    f"the button {links.ble_button} is linked to another resident",
                    "ble_button",
                )
        if links == ActivityLinks():
            self._links.pop(resident_id, None)
        else:
            self._links[resident_id] = links
        self._links_listeners.notify()
        self._listeners.notify(resident_id)

    def residents_for_entity(self, entity_id: str) -> list[str]:
        """Return the residents an entity is linked to."""
        return [
            resident_id
            for resident_id, links in self._links.items()
            if entity_id in links.entities
        ]

    def resident_for_tag(self, tag: str) -> str | None:
        """Return the resident wearing a tag."""
        return next(
            (rid for rid, links in self._links.items() if links.ble_tag == tag), None
        )

    def resident_for_button(self, address: str) -> str | None:
        """Return the resident carrying a button."""
        return next(
            (rid for rid, links in self._links.items() if links.ble_button == address),
            None,
        )

    def record(self, resident_id: str, activity: Activity) -> bool:
        """Note a sign of activity of a watched resident; older ones than the last are ignored."""
        if resident_id not in self._watched_since:
            return False
        last = self._last.get(resident_id)
        if last is not None and last.at >= activity.at:
            return False
        self._last[resident_id] = activity
        self._listeners.notify(resident_id)
        return True

    def last(self, resident_id: str) -> Activity | None:
        """Return a resident's latest activity."""
        return self._last.get(resident_id)

    def quiet_since(self, resident_id: str) -> datetime | None:
        """Return since when a watched resident has shown nothing."""
        if (last := self._last.get(resident_id)) is not None:
            return last.at
        return self._watched_since.get(resident_id)

    def inactive_from(self, resident_id: str) -> datetime | None:
        """Return when a watched resident counts as inactive if nothing happens."""
        if (since := self.quiet_since(resident_id)) is None:
            return None
        return since + self.links(resident_id).inactive_after

    def is_inactive(self, resident_id: str, now: datetime) -> bool:
        """Tell whether a watched resident has been quiet for too long."""
        inactive_from = self.inactive_from(resident_id)
        return inactive_from is not None and now >= inactive_from

    def to_dict(self) -> dict[str, Any]:
        """Describe the log as JSON-serialisable data."""
        return {
            "version": STORAGE_VERSION,
            "links": {
                resident_id: {
                    "entities": list(links.entities),
                    "ble_tag": links.ble_tag,
                    "ble_button": links.ble_button,
                    "inactive_after_minutes": links.inactive_after.total_seconds() / 60,
                }
                for resident_id, links in self._links.items()
            },
            "watched_since": {
                resident_id: since.isoformat()
                for resident_id, since in self._watched_since.items()
            },
            "last": {
                resident_id: {
                    "at": activity.at.isoformat(),
                    "source": activity.source.value,
                    "detail": activity.detail,
                }
                for resident_id, activity in self._last.items()
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a log from to_dict data; raise ValueError for bad data."""
        if data.get("version") != STORAGE_VERSION:
            raise ValueError(f"unsupported version {data.get('version')!r}")
        log = cls()
        try:
            for resident_id, item in data["links"].items():
                log._links[resident_id] = ActivityLinks(
                    entities=tuple(item["entities"]),
                    ble_tag=item["ble_tag"],
                    ble_button=item["ble_button"],
                    inactive_after=timedelta(minutes=item["inactive_after_minutes"]),
                )
            for resident_id, since in data["watched_since"].items():
                log._watched_since[resident_id] = datetime.fromisoformat(since)
            for resident_id, item in data["last"].items():
                log._last[resident_id] = Activity(
                    at=datetime.fromisoformat(item["at"]),
                    source=ActivitySource(item["source"]),
                    detail=item["detail"],
                )
        except (KeyError, TypeError, AttributeError, InvalidResidentError) as err:
            raise ValueError(f"{type(err).__name__}: {err}") from err
        return log
