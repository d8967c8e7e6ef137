"""Test car park counting: entries and exits paired, misreads, late records, storage."""

from datetime import UTC, datetime, timedelta
import json

import pytest

from custom_components.smart_community.community.errors import InvalidStoredDataError
from custom_components.smart_community.community.parking import (
    RECENT_EXITS,
    ParkingLot,
)

from .conftest import Counter

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_entries_and_exits_pair() -> None:
    """Vehicles are counted in and out; free spaces never go below zero."""
    lot = ParkingLot("lot", "地下停车场", capacity=2)
    counter = Counter()
    remove = lot.add_listener(counter)
    assert lot.vehicle_entered("京A12345", T0).counted
    assert lot.vehicle_entered("京B12345", T0).counted
    assert lot.vehicle_entered("京C12345", T0).counted
    assert (lot.vehicles_inside, lot.free_spaces) == (3, 0)
    assert lot.vehicle_left("京B12345", T0 + timedelta(hours=1), 1).counted
    assert (lot.vehicles_inside, lot.free_spaces) == (2, 0)
    assert lot.vehicle_left("京C12345", T0 + timedelta(hours=1), 1).counted
    assert (lot.vehicles_inside, lot.free_spaces) == (1, 1)
    assert lot.entered_at("京A12345") == T0
    assert counter.calls == 5
    remove()
    remove()
    lot.vehicle_left("京A12345", T0 + timedelta(hours=2), 1)
    assert counter.calls == 5


def test_repeated_entry_counts_once() -> None:
    """A second entry without an exit (a missed exit read) keeps one car."""
    lot = ParkingLot("lot", "P", capacity=10)
    lot.vehicle_entered("京A12345", T0)
    change = lot.vehicle_entered("京A12345", T0 + timedelta(days=1))
    assert not change.counted
    assert lot.vehicles_inside == 1
    assert lot.entered_at("京A12345") == T0 + timedelta(days=1)


def test_exit_tolerates_a_misread() -> None:
    """An exit read with one confusable character still finds the car inside."""
    lot = ParkingLot("lot", "P", capacity=10)
    lot.vehicle_entered("京A12345", T0)
    change = lot.vehicle_left("京A1234S", T0 + timedelta(hours=1), 1)
    assert change.counted
    assert change.plate == "京A12345"
    assert lot.vehicles_inside == 0


def test_exit_of_unknown_or_ambiguous_counts_nothing() -> None:
    """An exit that fits no car, or two, leaves the count alone."""
    lot = ParkingLot("lot", "P", capacity=10)
    lot.vehicle_entered("京A1D345", T0)
    lot.vehicle_entered("京A1Q345", T0)
    assert not lot.vehicle_left("京A10345", T0 + timedelta(hours=1), 1).counted
    assert not lot.vehicle_left("沪A99999", T0 + timedelta(hours=1), 1).counted
    assert not lot.vehicle_left("", T0, 1).counted
    assert not lot.vehicle_entered("", T0).counted
    assert lot.vehicles_inside == 2


def test_late_entry_record_after_exit_is_ignored() -> None:
    """An offline entry record that arrives after the car left does not put it back."""
    lot = ParkingLot("lot", "P", capacity=10)
    lot.vehicle_left("京A12345", T0 + timedelta(hours=2), 1)
    assert not lot.vehicle_entered("京A12345", T0 + timedelta(hours=1)).counted
    assert lot.vehicles_inside == 0
    # A later entry is a new visit.
    assert lot.vehicle_entered("京A12345", T0 + timedelta(hours=3)).counted


def test_exit_before_entry_time_does_not_count() -> None:
    """An exit dated before the car's entry is an old record: the car stays."""
    lot = ParkingLot("lot", "P", capacity=10)
    lot.vehicle_entered("京A12345", T0 + timedelta(hours=2))
    assert not lot.vehicle_left("京A12345", T0 + timedelta(hours=1), 1).counted
    assert lot.vehicles_inside == 1


def test_recent_exits_are_bounded() -> None:
    """Only the latest exits are remembered, and they survive a round trip."""
    lot = ParkingLot("lot", "P", capacity=10)
    for number in range(RECENT_EXITS + 5):
        lot.vehicle_left(f"京A{number:05d}", T0, 0)
    data = lot.to_dict()
    assert len(data["recent_exits"]) == RECENT_EXITS
    assert "京A00000" not in data["recent_exits"]


def test_round_trip_through_json() -> None:
    """The count survives a restart: to_dict, JSON, restore."""
    lot = ParkingLot("lot", "P", capacity=10)
    lot.vehicle_entered("京A12345", T0)
    lot.vehicle_entered("粤BD12345", T0)
    lot.vehicle_left("粤BD12345", T0 + timedelta(hours=1), 1)
    stored = json.loads(json.dumps(lot.to_dict()))
    restored = ParkingLot("lot", "P", capacity=10)
    restored.restore(stored)
    assert restored.vehicles_inside == 1
    assert restored.entered_at("京A12345") == T0
    assert not restored.vehicle_entered("粤BD12345", T0 + timedelta(minutes=30)).counted


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"inside": {"京A12345": "not a time"}, "recent_exits": {}},
        {"inside": {"京A12345": "2026-11-21T08:00:00"}, "recent_exits": {}},
        {"inside": [], "recent_exits": {}},
    ],
)
def test_damaged_storage_is_refused(data: dict[str, object]) -> None:
    """Damaged or naive stored counts raise InvalidStoredDataError, naming the lot."""
    lot = ParkingLot("lot", "地下停车场", capacity=10)
    with pytest.raises(InvalidStoredDataError, match="地下停车场"):
        lot.restore(data)


def test_negative_capacity_is_refused() -> None:
    """A car park cannot have fewer than no spaces."""
    with pytest.raises(ValueError, match="negative"):
        ParkingLot("lot", "P", capacity=-1)
