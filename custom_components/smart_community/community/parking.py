"""Count the vehicles inside each car park by pairing entries with exits."""

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from .access import plate_variants
from .errors import InvalidStoredDataError
from .listeners import Listeners
from .models import require_aware

PARKING_STORAGE_VERSION: Final = 1
# Exits remembered per lot, so that a late offline entry record cannot put
# back a vehicle that has already left.
RECENT_EXITS: Final = 2000


@dataclass(frozen=True, slots=True)
class ParkingChange:
    """Say what one read did to a lot's count."""

    counted: bool
    # The plate as the lot knows it; differs from the read on a tolerated misread.
    plate: str | None = None


class ParkingLot:
    """One car park: its capacity and the plates inside, with when they came in."""

    def __init__(self, lot_id: str, name: str, capacity: int) -> None:
        """Start an empty lot."""
        if capacity < 0:
            raise ValueError(f"a capacity cannot be negative: {capacity}")
        self.lot_id = lot_id
        self.name = name
        self.capacity = capacity
        self._inside: dict[str, datetime] = {}
        self._recent_exits: OrderedDict[str, datetime] = OrderedDict()
        self._listeners: Listeners[()] = Listeners()

    @property
    def vehicles_inside(self) -> int:
        """Count the vehicles inside."""
        return len(self._inside)

    @property
    def free_spaces(self) -> int:
        """Count the free spaces; an overfull lot has none, not fewer."""
        return max(self.capacity - len(self._inside), 0)

    def entered_at(self, plate: str) -> datetime | None:
        """Return when a plate came in, if it is inside."""
        return self._inside.get(plate)

    def add_listener(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call back after every change of the count; return the remover."""
        return self._listeners.add(callback)

    def _notify(self) -> None:
        """Tell the listeners the count changed."""
        self._listeners.notify()

    def vehicle_entered(self, plate: str, at: datetime) -> ParkingChange:
        """Count a plate in, unless it left after the time it came in."""
        require_aware(at)
        if not plate:
            return ParkingChange(counted=False)
        if (left := self._recent_exits.get(plate)) is not None and left >= at:
            return ParkingChange(counted=False, plate=plate)
        if plate in self._inside:
            # A second entry without an exit: the exit was missed; keep one car.
            self._inside[plate] = at
            return ParkingChange(counted=False, plate=plate)
        self._inside[plate] = at
        self._notify()
        return ParkingChange(counted=True, plate=plate)

    def vehicle_left(self, plate: str, at: datetime, tolerance: int) -> ParkingChange:
        """Count a plate out, matching it to one inside despite a misread."""
        require_aware(at)
        if not plate:
            return ParkingChange(counted=False)
        inside = self._match_inside(plate, tolerance)
        self._recent_exits[inside or plate] = at
        self._recent_exits.move_to_end(inside or plate)
        while len(self._recent_exits) > RECENT_EXITS:
            self._recent_exits.popitem(last=False)
        if inside is None or self._inside[inside] > at:
            return ParkingChange(counted=False, plate=inside)
        del self._inside[inside]
        self._notify()
        return ParkingChange(counted=True, plate=inside)

    def _match_inside(self, plate: str, tolerance: int) -> str | None:
        """Find the one plate inside a read may be; None if none or several."""
        found: list[str] = []
        found_distance: int | None = None
        for distance, spelling in plate_variants(plate, tolerance):
            if found_distance is not None and distance > found_distance:
                break
            if spelling in self._inside:
                found.append(spelling)
                found_distance = distance
        return found[0] if len(found) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        """Describe what must survive a restart."""
        return {
            "inside": {plate: at.isoformat() for plate, at in self._inside.items()},
            "recent_exits": {
                plate: at.isoformat() for plate, at in self._recent_exits.items()
            },
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back what to_dict described, or raise InvalidStoredDataError."""
        try:
            inside = {
                str(plate): datetime.fromisoformat(at)
                for plate, at in data["inside"].items()
            }
            exits = OrderedDict(
                (str(plate), datetime.fromisoformat(at))
                for plate, at in data["recent_exits"].items()
            )
            for at in (*inside.values(), *exits.values()):
                require_aware(at)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise InvalidStoredDataError(
                f"parking lot {self.name}: {type(err).__name__}: {err}"
            ) from err
        self._inside = inside
        self._recent_exits = exits
