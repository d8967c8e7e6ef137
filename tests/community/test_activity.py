"""Test the activity log of watched residents."""

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.smart_community.community.activity import (
    Activity,
    ActivityLinks,
    ActivityLog,
    ActivitySource,
    Sos,
)
from custom_components.smart_community.community.errors import InvalidResidentError

START = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_quiet_counts_from_watching_until_the_first_activity() -> None:
    """A new watched resident turns inactive after their period; activity resets it."""
    log = ActivityLog()
    assert log.watch(["a"], START)
    log.link("a", ActivityLinks(inactive_after=timedelta(hours=2)))
    assert not log.is_inactive("a", START + timedelta(hours=1, minutes=59))
    assert log.is_inactive("a", START + timedelta(hours=2))
    assert log.record("a", Activity(START + timedelta(hours=3), ActivitySource.DOOR))
    assert log.inactive_from("a") == START + timedelta(hours=5)
    assert not log.is_inactive("a", START + timedelta(hours=4))


def test_older_activity_and_unwatched_residents_are_ignored() -> None:
    """Only newer activity of watched residents is kept; unwatching forgets it."""
    log = ActivityLog()
    log.watch(["a"], START)
    changes: list[str] = []
    log.add_listener(changes.append)
    assert log.record("a", Activity(START, ActivitySource.FACE))
    assert not log.record(
        "a", Activity(START - timedelta(minutes=1), ActivitySource.DOOR)
    )
    assert not log.record("b", Activity(START, ActivitySource.DOOR))
    assert changes == ["a"]
    last = log.last("a")
    assert last is not None
    assert last.source is ActivitySource.FACE
    assert log.watch([], START)
    assert log.last("a") is None
    assert log.inactive_from("a") is None
    assert not log.is_inactive("a", START + timedelta(days=30))


def test_links_are_normalised_and_owned_once() -> None:
    """Entity IDs and BLE identities are normalised; a tag has one wearer."""
    log = ActivityLog()
    links = ActivityLinks(
        entities=(" Binary_sensor.Door ", "binary_sensor.door", "sensor.water"),
        ble_tag="c3-00-00-12-34-56",
        ble_button="3c:2e:f5:aa:bb:cc",
    )
    assert links.entities == ("binary_sensor.door", "sensor.water")
    assert links.ble_tag == "C3:00:00:12:34:56"
    assert links.ble_button == "3C:2E:F5:AA:BB:CC"
    log.link("a", links)
    assert log.residents_for_entity("sensor.water") == ["a"]
    assert log.resident_for_tag("C3:00:00:12:34:56") == "a"
    assert log.resident_for_button("3C:2E:F5:AA:BB:CC") == "a"
    with pytest.raises(InvalidResidentError, match="another resident"):
        log.link("b", ActivityLinks(ble_tag="C3:00:00:12:34:56"))
    with pytest.raises(InvalidResidentError, match="another resident"):
        log.link("b", ActivityLinks(ble_button="3C:2E:F5:AA:BB:CC"))
    # Linking nothing removes the record.
    log.link("a", ActivityLinks())
    assert not log.all_links()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"entities": ("not an entity",)}, "entities"),
        ({"ble_tag": "beacon 7"}, "ble_tag"),
        ({"ble_button": "AA:BB"}, "ble_button"),
        ({"inactive_after": timedelta(seconds=30)}, "inactive_after"),
        ({"inactive_after": timedelta(days=8)}, "inactive_after"),
    ],
)
def test_bad_links_are_refused(fields: dict[str, object], field: str) -> None:
    """Each bad link names its field."""
    with pytest.raises(InvalidResidentError) as raised:
        ActivityLinks(**fields)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_people_who_left_lose_their_links() -> None:
    """forget() drops links of residents no longer in the registry."""
    log = ActivityLog()
    log.link("a", ActivityLinks(entities=("binary_sensor.door",)))
    log.link("b", ActivityLinks(entities=("binary_sensor.hall",)))
    assert log.forget(["b"])
    assert list(log.all_links()) == ["b"]
    assert not log.forget(["b"])


def test_calls_for_help_reach_listeners() -> None:
    """A call for help is passed on with who and how."""
    log = ActivityLog()
    calls: list[tuple[str, Sos]] = []
    log.add_sos_listener(lambda resident_id, sos: calls.append((resident_id, sos)))
    sos = Sos(at=START, source="ble_button:AA", press="press")
    log.call_for_help("a", sos)
    assert calls == [("a", sos)]


def test_storage_round_trip_and_bad_data() -> None:
    """The log survives to_dict/from_dict; bad data is a ValueError."""
    log = ActivityLog()
    log.watch(["a"], START)
    log.link("a", ActivityLinks(("binary_sensor.door",), "C3:00:00:12:34:56", None))
    log.record("a", Activity(START + timedelta(minutes=5), ActivitySource.BLE_TAG, "x"))
    again = ActivityLog.from_dict(log.to_dict())
    assert again.to_dict() == log.to_dict()
    assert again.last("a") == log.last("a")
    assert again.links("a") == log.links("a")
    with pytest.raises(ValueError, match="version"):
        ActivityLog.from_dict({"version": 99})
    broken = log.to_dict()
    broken["last"]["a"]["source"] = "telepathy"
    with pytest.raises(ValueError, match="telepathy"):
        ActivityLog.from_dict(broken)
    broken = log.to_dict()
    broken["links"]["a"]["ble_tag"] = "nonsense"
    with pytest.raises(ValueError, match="InvalidResidentError"):
        ActivityLog.from_dict(broken)
