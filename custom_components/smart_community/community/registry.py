"""Keep a community's residents, vehicles, cards and visitor passes, indexed for lookups."""

from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable, Mapping, Set as AbstractSet
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final, Self
import unicodedata
from uuid import uuid4

from .errors import (
    DuplicateCardError,
    DuplicatePlateError,
    DuplicateResidentError,
    DuplicateVisitorPassError,
    InvalidCardError,
    InvalidStoredDataError,
    UnknownBlockedPlateError,
    UnknownCardError,
    UnknownResidentError,
    UnknownVehicleError,
    UnknownVisitorPassError,
)
from .listeners import Listeners
from .models import (
    BlockedPlate,
    Card,
    Household,
    Resident,
    Vehicle,
    VisitorPass,
    normalize_card,
    require_aware,
)
from .plates import normalize_plate, validate_plate

STORAGE_VERSION: Final = 1


class _Unset(Enum):
    """Mark an update_resident argument that was not given."""

    UNSET = "unset"


UNSET: Final = _Unset.UNSET


@dataclass(slots=True, frozen=True)
class ResidentRecord:
    """Pair a resident with the plates they own after a bulk change.

    ``plates`` None keeps the vehicles the resident already has.
    """

    resident: Resident
    plates: tuple[str, ...] | None = None


@dataclass(slots=True, frozen=True)
class BulkResult:
    """Count what a bulk change did."""

    added: int
    updated: int
    removed: int
    vehicles: int


def _building_key(building: str) -> str:
    """Fold a building name the way Household stores it."""
    return unicodedata.normalize("NFKC", building).strip()


class ResidentsRegistry:
    """Hold residents, their vehicles, cards and visitor passes with O(1) lookups.

    Every mutation validates everything first and changes nothing when it raises,
    then calls each listener once. Indexes (building, tag, household, plate, card,
    host) are kept in step with the primary dicts, so lookups never scan. Index
    members are dict keys with None values: sets that keep insertion order, so
    listings come out in a stable order.
    """

    _residents: dict[str, Resident]
    _by_building: dict[str, dict[str, None]]
    _by_tag: dict[str, dict[str, None]]
    _households: dict[Household, int]
    _vehicles: dict[str, Vehicle]
    _plates_by_resident: dict[str, dict[str, None]]
    _cards: dict[str, Card]
    _cards_by_resident: dict[str, dict[str, None]]
    _passes: dict[str, VisitorPass]
    _passes_by_plate: dict[str, dict[str, None]]
    _passes_by_host: dict[str, dict[str, None]]
    # Every pass start and end, sorted; None until next_pass_change needs it.
    _pass_changes: list[datetime] | None
    # Kept apart from residents: a bulk import must not lift a block.
    _blocked: dict[str, BlockedPlate]

    def __init__(self) -> None:
        """Start an empty registry."""
        self._listeners: Listeners[()] = Listeners()
        self._blocked = {}
        self._load_state({}, {}, {}, {})

    def _load_state(
        self,
        residents: dict[str, Resident],
        vehicles: dict[str, Vehicle],
        passes: dict[str, VisitorPass],
        cards: dict[str, Card],
    ) -> None:
        """Replace the whole state with validated data and rebuild every index."""
        self._residents = residents
        self._by_building = {}
        self._by_tag = {}
        self._households = {}
        for resident in residents.values():
            self._index_resident(resident)
        self._vehicles = vehicles
        self._plates_by_resident = {}
        for vehicle in vehicles.values():
            self._index_vehicle(vehicle)
        self._cards = cards
        self._cards_by_resident = {}
        for card in cards.values():
            self._index_card(card)
        self._passes = passes
        self._passes_by_plate = {}
        self._passes_by_host = {}
        for visitor_pass in passes.values():
            self._index_pass(visitor_pass)
        self._pass_changes = None

    def _index_resident(self, resident: Resident) -> None:
        """Add a resident to the building, tag and household indexes."""
        resident_id = resident.resident_id
        household = resident.household
        self._by_building.setdefault(household.building, {})[resident_id] = None
        for tag in resident.tags:
            self._by_tag.setdefault(tag, {})[resident_id] = None
        self._households[household] = self._households.get(household, 0) + 1

    def _unindex_resident(self, resident: Resident) -> None:
        """Take a resident out of the building, tag and household indexes."""
        resident_id = resident.resident_id
        household = resident.household
        _discard(self._by_building, household.building, resident_id)
        for tag in resident.tags:
            _discard(self._by_tag, tag, resident_id)
        if (count := self._households[household] - 1) > 0:
            self._households[household] = count
        else:
            del self._households[household]

    def _index_vehicle(self, vehicle: Vehicle) -> None:
        """Add a vehicle to its owner's plates."""
        self._plates_by_resident.setdefault(vehicle.resident_id, {})[vehicle.plate] = (
            None
        )

    def _index_card(self, card: Card) -> None:
        """Add a card to its owner's cards."""
        self._cards_by_resident.setdefault(card.resident_id, {})[card.card] = None

    def _index_pass(self, visitor_pass: VisitorPass) -> None:
        """Add a pass to the plate and host indexes."""
        if visitor_pass.plate is not None:
            self._passes_by_plate.setdefault(visitor_pass.plate, {})[
                visitor_pass.pass_id
            ] = None
        self._passes_by_host.setdefault(visitor_pass.host_resident_id, {})[
            visitor_pass.pass_id
        ] = None
        self._pass_changes = None

    def _drop_pass(self, pass_id: str) -> VisitorPass:
        """Remove a known pass from the registry and its indexes."""
        visitor_pass = self._passes.pop(pass_id)
        if visitor_pass.plate is not None:
            _discard(self._passes_by_plate, visitor_pass.plate, pass_id)
        _discard(self._passes_by_host, visitor_pass.host_resident_id, pass_id)
        self._pass_changes = None
        return visitor_pass

    def _drop_vehicle(self, plate: str) -> Vehicle:
        """Remove a known vehicle from the registry and its owner's plates."""
        vehicle = self._vehicles.pop(plate)
        _discard(self._plates_by_resident, vehicle.resident_id, plate)
        return vehicle

    def _drop_card(self, number: str) -> Card:
        """Remove a known card from the registry and its owner's cards."""
        card = self._cards.pop(number)
        _discard(self._cards_by_resident, card.resident_id, number)
        return card

    def add_listener(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call back after every change; return a function that stops it."""
        return self._listeners.add(callback)

    def _notify(self) -> None:
        """Tell every listener that the registry changed."""
        self._listeners.notify()

    def add_resident(
        self,
        *,
        name: str,
        household: Household | str,
        phone: str | None = None,
        tags: Iterable[str] = (),
        notify_targets: Iterable[str] = (),
        resident_id: str | None = None,
    ) -> Resident:
        """Add a resident; without resident_id a new random ID is given."""
        resident = Resident(
            resident_id=uuid4().hex if resident_id is None else resident_id,
            name=name,
            household=_household(household),
            phone=phone,
            tags=_tags(tags),
            notify_targets=_targets(notify_targets),
        )
        if resident.resident_id in self._residents:
            raise DuplicateResidentError(resident.resident_id)
        self._residents[resident.resident_id] = resident
        self._index_resident(resident)
        self._notify()
        return resident

    def update_resident(
        self,
        resident_id: str,
        *,
        name: str | _Unset = UNSET,
        household: Household | str | _Unset = UNSET,
        phone: str | _Unset | None = UNSET,
        tags: Iterable[str] | _Unset = UNSET,
        notify_targets: Iterable[str] | _Unset = UNSET,
    ) -> Resident:
        """Change the given fields of a resident; phone=None clears the phone."""
        current = self.get_resident(resident_id)
        changes: dict[str, Any] = {}
        if not isinstance(name, _Unset):
            changes["name"] = name
        if not isinstance(household, _Unset):
            changes["household"] = _household(household)
        if not isinstance(phone, _Unset):
            changes["phone"] = phone
        if not isinstance(tags, _Unset):
            changes["tags"] = _tags(tags)
        if not isinstance(notify_targets, _Unset):
            changes["notify_targets"] = _targets(notify_targets)
        updated = dataclasses.replace(current, **changes)
        self._unindex_resident(current)
        self._residents[updated.resident_id] = updated
        self._index_resident(updated)
        self._notify()
        return updated

    def remove_resident(self, resident_id: str) -> Resident:
        """Remove a resident with their vehicles, cards and the passes they host."""
        resident = self.get_resident(resident_id)
        for plate in tuple(self._plates_by_resident.get(resident.resident_id, ())):
            self._drop_vehicle(plate)
        for number in tuple(self._cards_by_resident.get(resident.resident_id, ())):
            self._drop_card(number)
        for pass_id in tuple(self._passes_by_host.get(resident.resident_id, ())):
            self._drop_pass(pass_id)
        self._unindex_resident(resident)
        del self._residents[resident.resident_id]
        self._notify()
        return resident

    def get_resident(self, resident_id: str) -> Resident:
        """Return a resident, or raise UnknownResidentError."""
        try:
            return self._residents[resident_id.strip()]
        except KeyError:
            raise UnknownResidentError(resident_id) from None

    def __contains__(self, resident_id: object) -> bool:
        """Tell whether a resident ID is registered."""
        return isinstance(resident_id, str) and resident_id.strip() in self._residents

    def __len__(self) -> int:
        """Count the residents."""
        return len(self._residents)

    @property
    def residents(self) -> Collection[Resident]:
        """Return a live, read-only view of the residents in insertion order."""
        return self._residents.values()

    def residents_in_building(self, building: str) -> list[Resident]:
        """Return the residents of a building."""
        ids = self._by_building.get(_building_key(building), {})
        return [self._residents[resident_id] for resident_id in ids]

    def residents_with_tag(self, tag: str) -> list[Resident]:
        """Return the residents carrying a tag."""
        ids = self._by_tag.get(tag.strip().lower(), {})
        return [self._residents[resident_id] for resident_id in ids]

    @property
    def households(self) -> AbstractSet[Household]:
        """Return a live, read-only set of the households that have residents."""
        return self._households.keys()

    def add_vehicle(
        self, resident_id: str, plate: str, label: str | None = None
    ) -> Vehicle:
        """Register a vehicle to a resident under its normalised plate."""
        vehicle = Vehicle(plate, resident_id, label)
        self.get_resident(vehicle.resident_id)
        if (existing := self._vehicles.get(vehicle.plate)) is not None:
            raise DuplicatePlateError(
                vehicle.plate, f"it belongs to resident {existing.resident_id}"
            )
        self._vehicles[vehicle.plate] = vehicle
        self._index_vehicle(vehicle)
        self._notify()
        return vehicle

    def remove_vehicle(self, plate: str) -> Vehicle:
        """Forget a vehicle, or raise UnknownVehicleError."""
        key = normalize_plate(plate)
        if key not in self._vehicles:
            raise UnknownVehicleError(plate)
        vehicle = self._drop_vehicle(key)
        self._notify()
        return vehicle

    @property
    def vehicles(self) -> Collection[Vehicle]:
        """Return a live, read-only view of the vehicles."""
        return self._vehicles.values()

    def vehicle_for_plate(self, plate: str) -> Vehicle | None:
        """Find the vehicle with a plate written any common way, in O(1)."""
        return self._vehicles.get(normalize_plate(plate))

    def vehicles_of(self, resident_id: str) -> list[Vehicle]:
        """Return a resident's vehicles, or raise UnknownResidentError."""
        resident = self.get_resident(resident_id)
        plates = self._plates_by_resident.get(resident.resident_id, {})
        return [self._vehicles[plate] for plate in plates]

    def add_card(self, resident_id: str, card: str, label: str | None = None) -> Card:
        """Register a charging or access card to a resident under its normalised number."""
        new = Card(card, resident_id, label)
        self.get_resident(new.resident_id)
        if (existing := self._cards.get(new.card)) is not None:
            raise DuplicateCardError(new.card, existing.resident_id)
        self._cards[new.card] = new
        self._index_card(new)
        self._notify()
        return new

    def remove_card(self, card: str) -> Card:
        """Forget a card, or raise UnknownCardError."""
        if (found := self.card_for(card)) is None:
            raise UnknownCardError(card.strip())
        removed = self._drop_card(found.card)
        self._notify()
        return removed

    @property
    def cards(self) -> Collection[Card]:
        """Return a live, read-only view of the cards."""
        return self._cards.values()

    def card_for(self, id_tag: str) -> Card | None:
        """Find the card with an idTag written in any case or width, in O(1)."""
        try:
            return self._cards.get(normalize_card(id_tag))
        except InvalidCardError:
            return None

    def cards_of(self, resident_id: str) -> list[Card]:
        """Return a resident's cards, or raise UnknownResidentError."""
        resident = self.get_resident(resident_id)
        numbers = self._cards_by_resident.get(resident.resident_id, {})
        return [self._cards[number] for number in numbers]

    def add_visitor_pass(
        self,
        *,
        visitor_name: str,
        host_resident_id: str,
        valid_from: datetime,
        valid_until: datetime,
        plate: str | None = None,
        pass_id: str | None = None,
    ) -> VisitorPass:
        """Issue a visitor pass hosted by a resident; without pass_id one is made."""
        visitor_pass = VisitorPass(
            pass_id=uuid4().hex if pass_id is None else pass_id,
            visitor_name=visitor_name,
            plate=plate,
            host_resident_id=host_resident_id,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        self.get_resident(visitor_pass.host_resident_id)
        if visitor_pass.pass_id in self._passes:
            raise DuplicateVisitorPassError(visitor_pass.pass_id)
        self._passes[visitor_pass.pass_id] = visitor_pass
        self._index_pass(visitor_pass)
        self._notify()
        return visitor_pass

    def remove_visitor_pass(self, pass_id: str) -> VisitorPass:
        """Withdraw a visitor pass, or raise UnknownVisitorPassError."""
        if pass_id.strip() not in self._passes:
            raise UnknownVisitorPassError(pass_id)
        visitor_pass = self._drop_pass(pass_id.strip())
        self._notify()
        return visitor_pass

    def purge_expired_passes(self, now: datetime) -> int:
        """Remove the passes that ended at or before now; count them."""
        require_aware(now)
        expired = [
            pass_id
            for pass_id, visitor_pass in self._passes.items()
            if visitor_pass.valid_until <= now
        ]
        for pass_id in expired:
            self._drop_pass(pass_id)
        if expired:
            self._notify()
        return len(expired)

    @property
    def visitor_passes(self) -> Collection[VisitorPass]:
        """Return a live, read-only view of the visitor passes."""
        return self._passes.values()

    def valid_pass_for_plate(self, plate: str, at: datetime) -> VisitorPass | None:
        """Find a pass for a plate that is valid at an instant (the latest-ending one)."""
        require_aware(at)
        pass_ids = self._passes_by_plate.get(normalize_plate(plate))
        if not pass_ids:
            return None
        valid = [
            self._passes[pass_id]
            for pass_id in pass_ids
            if self._passes[pass_id].is_valid_at(at)
        ]
        return max(
            valid, key=lambda visitor_pass: visitor_pass.valid_until, default=None
        )

    def passes_for_plate(self, plate: str) -> list[VisitorPass]:
        """Return every pass issued for a plate, valid or not, in O(1)."""
        pass_ids = self._passes_by_plate.get(normalize_plate(plate), ())
        return [self._passes[pass_id] for pass_id in pass_ids]

    def active_visitor_passes(self, at: datetime) -> list[VisitorPass]:
        """Return the passes valid at an instant, earliest start first."""
        require_aware(at)
        active = [
            visitor_pass
            for visitor_pass in self._passes.values()
            if visitor_pass.valid_from <= at < visitor_pass.valid_until
        ]
        active.sort(key=lambda visitor_pass: visitor_pass.valid_from)
        return active

    def next_pass_change(self, after: datetime) -> datetime | None:
        """Return the first pass start or end strictly after an instant, if any."""
        require_aware(after)
        if self._pass_changes is None:
            # Sorted once per change to the passes, then each query is a bisection.
            self._pass_changes = sorted(
                {
                    instant
                    for visitor_pass in self._passes.values()
                    for instant in (visitor_pass.valid_from, visitor_pass.valid_until)
                }
            )
        index = bisect_right(self._pass_changes, after)
        return self._pass_changes[index] if index < len(self._pass_changes) else None

    def block_plate(self, plate: str, reason: str | None = None) -> BlockedPlate:
        """Put a plate on the blocklist, or update the reason it is there."""
        blocked = BlockedPlate(plate, reason)
        self._blocked[blocked.plate] = blocked
        self._notify()
        return blocked

    def unblock_plate(self, plate: str) -> BlockedPlate:
        """Take a plate off the blocklist, or raise UnknownBlockedPlateError."""
        if (blocked := self._blocked.pop(normalize_plate(plate), None)) is None:
            raise UnknownBlockedPlateError(plate)
        self._notify()
        return blocked

    def blocked_plate(self, plate: str) -> BlockedPlate | None:
        """Find a plate on the blocklist, written any common way, in O(1)."""
        return self._blocked.get(normalize_plate(plate))

    @property
    def blocked_plates(self) -> Collection[BlockedPlate]:
        """Return a live, read-only view of the blocklist."""
        return self._blocked.values()

    def bulk_upsert(
        self, records: Iterable[ResidentRecord], *, replace: bool = False
    ) -> BulkResult:
        """Add or update many residents at once, all or nothing, notifying once.

        A record whose resident ID exists updates that resident; its plates (when
        not None) replace the resident's vehicles, keeping labels of plates that
        stay. Cards are not part of a record: every resident who stays keeps theirs.
        With replace=True every resident missing from the records is removed with
        their vehicles, cards and hosted passes.
        """

        batch: dict[str, ResidentRecord] = {}
        for record in records:
            resident_id = record.resident.resident_id
            if resident_id in batch:
                raise DuplicateResidentError(resident_id, "it appears twice")
            batch[resident_id] = record

        owners: dict[str, str] = {}
        for resident_id, record in batch.items():
            plates = (
                self._plates_by_resident.get(resident_id, {})
                if record.plates is None
                else record.plates
            )
            for raw_plate in plates:
                plate = validate_plate(raw_plate)
                if plate in owners:
                    raise DuplicatePlateError(plate, "it appears twice")
                owners[plate] = resident_id
                existing = self._vehicles.get(plate)
                if (
                    not replace
                    and existing is not None
                    and existing.resident_id not in batch
                ):
                    raise DuplicatePlateError(
                        plate, f"it belongs to resident {existing.resident_id}"
                    )

        if replace:
            residents = {
                resident_id: record.resident for resident_id, record in batch.items()
            }
        else:
            residents = self._residents | {
                resident_id: record.resident for resident_id, record in batch.items()
            }
        replaced_plates = {
            resident_id
            for resident_id, record in batch.items()
            if record.plates is not None
        }
        vehicles = {
            plate: vehicle
            for plate, vehicle in self._vehicles.items()
            if vehicle.resident_id in residents
            and vehicle.resident_id not in replaced_plates
        }
        for plate, resident_id in owners.items():
            if resident_id in replaced_plates:
                previous = self._vehicles.get(plate)
                label = (
                    previous.label
                    if previous is not None and previous.resident_id == resident_id
                    else None
                )
                vehicles[plate] = Vehicle(plate, resident_id, label)
        cards = {
            number: card
            for number, card in self._cards.items()
            if card.resident_id in residents
        }
        passes = {
            pass_id: visitor_pass
            for pass_id, visitor_pass in self._passes.items()
            if visitor_pass.host_resident_id in residents
        }

        updated = sum(resident_id in self._residents for resident_id in batch)
        result = BulkResult(
            added=len(batch) - updated,
            updated=updated,
            removed=len(self._residents) - updated if replace else 0,
            vehicles=len(owners),
        )
        self._load_state(residents, vehicles, passes, cards)
        if batch or result.removed:
            self._notify()
        return result

    def to_dict(self) -> dict[str, Any]:
        """Describe the registry as JSON-serialisable data for Home Assistant's Store."""
        return {
            "version": STORAGE_VERSION,
            "residents": [
                {
                    "resident_id": resident.resident_id,
                    "name": resident.name,
                    "household": {
                        "building": resident.household.building,
                        "unit": resident.household.unit,
                        "room": resident.household.room,
                    },
                    "phone": resident.phone,
                    "tags": sorted(resident.tags),
                    "notify_targets": list(resident.notify_targets),
                    "vehicles": [
                        {"plate": plate, "label": self._vehicles[plate].label}
                        for plate in self._plates_by_resident.get(
                            resident.resident_id, ()
                        )
                    ],
                    "cards": [
                        {"card": number, "label": self._cards[number].label}
                        for number in self._cards_by_resident.get(
                            resident.resident_id, ()
                        )
                    ],
                }
                for resident in self._residents.values()
            ],
            "visitor_passes": [
                {
                    "pass_id": visitor_pass.pass_id,
                    "visitor_name": visitor_pass.visitor_name,
                    "plate": visitor_pass.plate,
                    "host_resident_id": visitor_pass.host_resident_id,
                    "valid_from": visitor_pass.valid_from.isoformat(),
                    "valid_until": visitor_pass.valid_until.isoformat(),
                }
                for visitor_pass in self._passes.values()
            ],
            "blocked_plates": [
                {"plate": blocked.plate, "reason": blocked.reason}
                for blocked in self._blocked.values()
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a registry from to_dict data, validating every record."""
        if (version := data.get("version")) != STORAGE_VERSION:
            raise InvalidStoredDataError(f"unsupported version {version!r}")
        try:
            residents, vehicles, passes, cards = _read_state(data)
            # Registries saved before the blocklist existed have none.
            blocked = [
                BlockedPlate(item["plate"], item["reason"])
                for item in data.get("blocked_plates", ())
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise InvalidStoredDataError(f"{type(err).__name__}: {err}") from err
        registry = cls()
        registry._load_state(residents, vehicles, passes, cards)
        registry._blocked = {item.plate: item for item in blocked}
        return registry


def _read_state(
    data: Mapping[str, Any],
) -> tuple[
    dict[str, Resident], dict[str, Vehicle], dict[str, VisitorPass], dict[str, Card]
]:
    """Validate stored data into the registry's primary dicts."""
    residents: dict[str, Resident] = {}
    vehicles: dict[str, Vehicle] = {}
    passes: dict[str, VisitorPass] = {}
    cards: dict[str, Card] = {}
    for item in data["residents"]:
        household = item["household"]
        resident = Resident(
            resident_id=item["resident_id"],
            name=item["name"],
            household=Household(
                household["building"], household["unit"], household["room"]
            ),
            phone=item["phone"],
            tags=frozenset(item["tags"]),
            notify_targets=tuple(item["notify_targets"]),
        )
        if resident.resident_id in residents:
            raise DuplicateResidentError(resident.resident_id)
        residents[resident.resident_id] = resident
        for stored in item["vehicles"]:
            vehicle = Vehicle(stored["plate"], resident.resident_id, stored["label"])
            if vehicle.plate in vehicles:
                raise DuplicatePlateError(vehicle.plate)
            vehicles[vehicle.plate] = vehicle
        # Registries saved before cards existed have none.
        for stored in item.get("cards", ()):
            card = Card(stored["card"], resident.resident_id, stored["label"])
            if (owner := cards.get(card.card)) is not None:
                raise DuplicateCardError(card.card, owner.resident_id)
            cards[card.card] = card
    for item in data["visitor_passes"]:
        visitor_pass = VisitorPass(
            pass_id=item["pass_id"],
            visitor_name=item["visitor_name"],
            plate=item["plate"],
            host_resident_id=item["host_resident_id"],
            valid_from=datetime.fromisoformat(item["valid_from"]),
            valid_until=datetime.fromisoformat(item["valid_until"]),
        )
        if visitor_pass.host_resident_id not in residents:
            raise UnknownResidentError(visitor_pass.host_resident_id)
        if visitor_pass.pass_id in passes:
            raise DuplicateVisitorPassError(visitor_pass.pass_id)
        passes[visitor_pass.pass_id] = visitor_pass
    return residents, vehicles, passes, cards


def _household(household: Household | str) -> Household:
    """Accept a household or its "building-unit-room" text."""
    return Household.parse(household) if isinstance(household, str) else household


def _tags(tags: Iterable[str]) -> frozenset[str]:
    """Turn tags into a frozenset; a lone string is one tag."""
    return frozenset((tags,) if isinstance(tags, str) else tags)


def _targets(targets: Iterable[str]) -> tuple[str, ...]:
    """Turn notify targets into a tuple; a lone string is one target."""
    return (targets,) if isinstance(targets, str) else tuple(targets)


def _discard(index: dict[str, dict[str, None]], key: str, member: str) -> None:
    """Remove a member from an index entry, dropping the entry when it empties."""
    members = index[key]
    del members[member]
    if not members:
        del index[key]
