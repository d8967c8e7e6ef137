"""Test the residents registry: mutations, indexes, listeners and persistence."""

# Full-width and look-alike characters are the input under test.
# ruff: noqa: RUF001

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
import json
import random
from typing import Any

import pytest

from custom_components.smart_community.community.errors import (
    CommunityError,
    DuplicateCardError,
    DuplicatePlateError,
    DuplicateResidentError,
    DuplicateVisitorPassError,
    InvalidCardError,
    InvalidHouseholdError,
    InvalidPhoneError,
    InvalidPlateError,
    InvalidResidentError,
    InvalidStoredDataError,
    InvalidValidityWindowError,
    InvalidVisitorPassError,
    UnknownCardError,
    UnknownResidentError,
    UnknownVehicleError,
    UnknownVisitorPassError,
)
from custom_components.smart_community.community.models import (
    TAG_ELDERLY_LIVING_ALONE,
    Household,
    Resident,
)
from custom_components.smart_community.community.registry import (
    STORAGE_VERSION,
    ResidentRecord,
    ResidentsRegistry,
)

from .conftest import Counter

CHINA = timezone(timedelta(hours=8))
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=CHINA)
HOUR = timedelta(hours=1)


@pytest.fixture
def registry() -> ResidentsRegistry:
    """Return a small community: two households in building 3, one in 5."""
    registry = ResidentsRegistry()
    registry.add_resident(
        resident_id="zhang",
        name="张三",
        household="3-2-1201",
        phone="13800138000",
        tags=[TAG_ELDERLY_LIVING_ALONE],
        notify_targets=["notify.mobile_app_zhang_san"],
    )
    registry.add_resident(
        resident_id="li", name="李四", household=Household("3", "2", "1202")
    )
    registry.add_resident(
        resident_id="wang", name="王五", household="5-1-101", tags=["vip"]
    )
    registry.add_resident(resident_id="wang2", name="王小五", household="5-1-101")
    registry.add_vehicle("zhang", "粤B12345", "白色轿车")
    registry.add_vehicle("zhang", "粤BD12345")
    registry.add_vehicle("wang", "京A1234警")
    registry.add_card("zhang", "04a1b2c3", "门禁卡")
    registry.add_card("zhang", "04A1B2C4")
    registry.add_card("wang", "ＣＡＲＤ-7")
    registry.add_visitor_pass(
        pass_id="p1",
        visitor_name="赵六",
        host_resident_id="li",
        valid_from=T0,
        valid_until=T0 + 2 * HOUR,
        plate="沪A54321",
    )
    return registry


@pytest.fixture
def listener(registry: ResidentsRegistry) -> Counter:
    """Listen to the registry fixture."""
    counter = Counter()
    registry.add_listener(counter)
    return counter


# Residents -------------------------------------------------------------------


def test_add_resident_generates_an_id(
    registry: ResidentsRegistry, listener: Counter
) -> None:
    """Give a new resident a random hex ID and notify once."""
    resident = registry.add_resident(
        name="孙七", household="3-1-301", phone="0755-1234567"
    )
    assert len(resident.resident_id) == 32
    int(resident.resident_id, 16)
    assert resident.phone == "07551234567"
    assert registry.get_resident(resident.resident_id) is resident
    assert resident.resident_id in registry
    assert len(registry) == 5
    assert listener.calls == 1


def test_lone_string_tags_and_targets(registry: ResidentsRegistry) -> None:
    """Treat a lone string as one tag or target."""
    resident = registry.add_resident(
        name="孙七", household="3-1-301", tags="vip", notify_targets="notify.sun"
    )
    assert resident.tags == frozenset({"vip"})
    assert resident.notify_targets == ("notify.sun",)
    updated = registry.update_resident(
        resident.resident_id,
        tags="elderly_living_alone",
        notify_targets="notify.family",
    )
    assert updated.tags == frozenset({TAG_ELDERLY_LIVING_ALONE})
    assert updated.notify_targets == ("notify.family",)


def test_reads_and_indexes(registry: ResidentsRegistry) -> None:
    """Answer building, tag and household questions from the indexes."""
    assert [r.resident_id for r in registry.residents] == [
        "zhang",
        "li",
        "wang",
        "wang2",
    ]
    assert [r.resident_id for r in registry.residents_in_building("3")] == [
        "zhang",
        "li",
    ]
    assert [r.resident_id for r in registry.residents_in_building(" ５ ")] == [
        "wang",
        "wang2",
    ]
    assert registry.residents_in_building("9") == []
    assert [r.resident_id for r in registry.residents_with_tag("VIP")] == ["wang"]
    assert registry.residents_with_tag("none") == []
    assert registry.households == {
        Household("3", "2", "1201"),
        Household("3", "2", "1202"),
        Household("5", "1", "101"),
    }
    assert "nobody" not in registry
    assert 42 not in registry


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda r: r.add_resident(name="", household="3-2-1"), InvalidResidentError),
        (lambda r: r.add_resident(name="x", household="3-2"), InvalidHouseholdError),
        (
            lambda r: r.add_resident(
                name="x", household=Household("3", "2", "1"), phone="1"
            ),
            InvalidPhoneError,
        ),
        (
            lambda r: r.add_resident(name="x", household="3-2-1", tags=["Bad Tag"]),
            InvalidResidentError,
        ),
        (
            lambda r: r.add_resident(
                name="x", household="3-2-1", notify_targets=["notify"]
            ),
            InvalidResidentError,
        ),
        (
            lambda r: r.add_resident(name="x", household="3-2-1", resident_id="li"),
            DuplicateResidentError,
        ),
        (lambda r: r.update_resident("nobody", name="x"), UnknownResidentError),
        (lambda r: r.update_resident("li", name=" "), InvalidResidentError),
        (lambda r: r.update_resident("li", household="3-2-"), InvalidHouseholdError),
        (lambda r: r.update_resident("li", phone="abc"), InvalidPhoneError),
        (lambda r: r.update_resident("li", tags=["独居"]), InvalidResidentError),
        (lambda r: r.update_resident("li", notify_targets=["x"]), InvalidResidentError),
        (lambda r: r.remove_resident("nobody"), UnknownResidentError),
        (lambda r: r.get_resident("nobody"), UnknownResidentError),
        (lambda r: r.add_vehicle("nobody", "粤B54321"), UnknownResidentError),
        (lambda r: r.add_vehicle("li", "粤B5432"), InvalidPlateError),
        (lambda r: r.add_vehicle("li", "粤b·12345"), DuplicatePlateError),
        (lambda r: r.add_vehicle("zhang", "粤B12345"), DuplicatePlateError),
        (lambda r: r.remove_vehicle("粤B99999"), UnknownVehicleError),
        (lambda r: r.vehicles_of("nobody"), UnknownResidentError),
        (lambda r: r.add_card("nobody", "CARD-9"), UnknownResidentError),
        (lambda r: r.add_card("li", "CARD 9"), InvalidCardError),
        (lambda r: r.add_card("li", "x" * 21), InvalidCardError),
        (lambda r: r.add_card("li", "０４a1b2c3"), DuplicateCardError),
        (lambda r: r.add_card("zhang", "04A1B2C3"), DuplicateCardError),
        (lambda r: r.remove_card("CARD-9"), UnknownCardError),
        (lambda r: r.remove_card("not a card"), UnknownCardError),
        (lambda r: r.cards_of("nobody"), UnknownResidentError),
        (
            lambda r: r.add_visitor_pass(
                visitor_name="x",
                host_resident_id="nobody",
                valid_from=T0,
                valid_until=T0 + HOUR,
            ),
            UnknownResidentError,
        ),
        (
            lambda r: r.add_visitor_pass(
                visitor_name="x", host_resident_id="li", valid_from=T0, valid_until=T0
            ),
            InvalidValidityWindowError,
        ),
        (
            lambda r: r.add_visitor_pass(
                visitor_name="x",
                host_resident_id="li",
                valid_from=T0.replace(tzinfo=None),
                valid_until=T0 + HOUR,
            ),
            InvalidValidityWindowError,
        ),
        (
            lambda r: r.add_visitor_pass(
                visitor_name=" ",
                host_resident_id="li",
                valid_from=T0,
                valid_until=T0 + HOUR,
            ),
            InvalidVisitorPassError,
        ),
        (
            lambda r: r.add_visitor_pass(
                visitor_name="x",
                host_resident_id="li",
                valid_from=T0,
                valid_until=T0 + HOUR,
                plate="粤B",
            ),
            InvalidPlateError,
        ),
        (
            lambda r: r.add_visitor_pass(
                visitor_name="x",
                host_resident_id="li",
                valid_from=T0,
                valid_until=T0 + HOUR,
                pass_id="p1",
            ),
            DuplicateVisitorPassError,
        ),
        (lambda r: r.remove_visitor_pass("nope"), UnknownVisitorPassError),
    ],
)
def test_errors_change_nothing(
    registry: ResidentsRegistry,
    listener: Counter,
    call: Callable[[ResidentsRegistry], Any],
    error: type[CommunityError],
) -> None:
    """Raise the specific error, leave the registry as it was and stay silent."""
    before = registry.to_dict()
    with pytest.raises(error) as caught:
        call(registry)
    assert isinstance(caught.value, CommunityError)
    assert caught.value.translation_key
    assert all(
        isinstance(value, str)
        for value in caught.value.translation_placeholders.values()
    )
    assert registry.to_dict() == before
    assert listener.calls == 0
    # The indexes were not touched either.
    assert [r.resident_id for r in registry.residents_in_building("3")] == [
        "zhang",
        "li",
    ]
    assert len(registry.households) == 3


def test_update_resident_changes_only_given_fields(
    registry: ResidentsRegistry, listener: Counter
) -> None:
    """Keep fields that were not given; phone=None clears the phone."""
    updated = registry.update_resident("zhang", name="张三丰", phone=None)
    assert updated == Resident(
        resident_id="zhang",
        name="张三丰",
        household=Household("3", "2", "1201"),
        phone=None,
        tags=frozenset({TAG_ELDERLY_LIVING_ALONE}),
        notify_targets=("notify.mobile_app_zhang_san",),
    )
    assert registry.get_resident("zhang") is updated
    assert listener.calls == 1


def test_update_resident_reindexes(
    registry: ResidentsRegistry, listener: Counter
) -> None:
    """Move a resident between buildings, tags and households in the indexes."""
    registry.update_resident(
        " zhang ", household=Household("5", "1", "101"), tags=["vip"], notify_targets=[]
    )
    assert [r.resident_id for r in registry.residents_in_building("3")] == ["li"]
    assert [r.resident_id for r in registry.residents_in_building("5")] == [
        "wang",
        "wang2",
        "zhang",
    ]
    assert registry.residents_with_tag(TAG_ELDERLY_LIVING_ALONE) == []
    assert {r.resident_id for r in registry.residents_with_tag("vip")} == {
        "wang",
        "zhang",
    }
    assert registry.households == {
        Household("3", "2", "1202"),
        Household("5", "1", "101"),
    }
    registry.update_resident("li", household="3-2-1203")
    assert registry.households == {
        Household("3", "2", "1203"),
        Household("5", "1", "101"),
    }
    assert listener.calls == 2


def test_remove_resident_takes_vehicles_and_passes(
    registry: ResidentsRegistry, listener: Counter
) -> None:
    """Remove a resident's vehicles, cards and hosted passes with them, notifying once."""
    removed = registry.remove_resident("zhang")
    assert removed.resident_id == "zhang"
    assert registry.vehicle_for_plate("粤B12345") is None
    assert registry.vehicle_for_plate("粤BD12345") is None
    assert len(registry.vehicles) == 1
    assert registry.card_for("04A1B2C3") is None
    assert registry.card_for("04A1B2C4") is None
    assert [card.card for card in registry.cards] == ["CARD-7"]
    assert Household("3", "2", "1201") not in registry.households
    assert registry.residents_with_tag(TAG_ELDERLY_LIVING_ALONE) == []
    assert listener.calls == 1
    registry.remove_resident("li")
    assert len(registry.visitor_passes) == 0
    assert registry.residents_in_building("3") == []
    assert listener.calls == 2


def test_households_are_counted(registry: ResidentsRegistry) -> None:
    """Keep a household while any of its residents remains."""
    registry.remove_resident("wang")
    assert Household("5", "1", "101") in registry.households
    registry.remove_resident("wang2")
    assert Household("5", "1", "101") not in registry.households


# Vehicles --------------------------------------------------------------------


def test_vehicle_lookup_normalises(registry: ResidentsRegistry) -> None:
    """Find vehicles however the plate is written; miss unknown and junk plates."""
    vehicle = registry.vehicle_for_plate("粤b·12345")
    assert vehicle is not None
    assert (vehicle.plate, vehicle.resident_id, vehicle.label) == (
        "粤B12345",
        "zhang",
        "白色轿车",
    )
    assert registry.vehicle_for_plate("粤Ｂ Ｄ１２３４５") is not None
    assert registry.vehicle_for_plate("粤B54321") is None
    assert registry.vehicle_for_plate("not a plate") is None
    assert [v.plate for v in registry.vehicles_of("zhang")] == ["粤B12345", "粤BD12345"]
    assert registry.vehicles_of("li") == []


def test_add_and_remove_vehicle(registry: ResidentsRegistry, listener: Counter) -> None:
    """Register and forget vehicles, notifying once each."""
    vehicle = registry.add_vehicle("li", "苏e·a1234", " 电动车 ")
    assert (vehicle.plate, vehicle.label) == ("苏EA1234", "电动车")
    assert registry.vehicle_for_plate("苏EA1234") is vehicle
    assert listener.calls == 1
    assert registry.remove_vehicle("苏e a1234") is vehicle
    assert registry.vehicle_for_plate("苏EA1234") is None
    assert registry.vehicles_of("li") == []
    assert listener.calls == 2


# Cards -----------------------------------------------------------------------


def test_card_lookup_normalises(registry: ResidentsRegistry) -> None:
    """Find cards however the idTag is written; miss unknown and junk idTags."""
    card = registry.card_for(" 04A1B2c3 ")
    assert card is not None
    assert (card.card, card.resident_id, card.label) == ("04A1B2C3", "zhang", "门禁卡")
    assert registry.card_for("card-7") is registry.card_for("ＣＡＲＤ－７")
    assert registry.card_for("card-7") is not None
    assert registry.card_for("04A1B2C5") is None
    assert registry.card_for("not a card") is None
    assert registry.card_for("") is None
    assert [c.card for c in registry.cards_of("zhang")] == ["04A1B2C3", "04A1B2C4"]
    assert registry.cards_of("li") == []
    assert len(registry.cards) == 3


def test_add_and_remove_card(registry: ResidentsRegistry, listener: Counter) -> None:
    """Register and forget cards, notifying once each."""
    card = registry.add_card("li", "ｅ5ｆ6a7b8", " 充电卡 ")
    assert (card.card, card.resident_id, card.label) == ("E5F6A7B8", "li", "充电卡")
    assert registry.card_for("E5F6A7B8") is card
    assert registry.cards_of("li") == [card]
    assert listener.calls == 1
    assert registry.remove_card("e5f6a7b8") is card
    assert registry.card_for("E5F6A7B8") is None
    assert registry.cards_of("li") == []
    assert listener.calls == 2


def test_duplicate_card_names_its_owner(registry: ResidentsRegistry) -> None:
    """Say who already holds a card, in the message and the placeholders."""
    with pytest.raises(DuplicateCardError) as caught:
        registry.add_card("li", "card-7")
    assert caught.value.translation_key == "duplicate_card"
    assert caught.value.translation_placeholders == {
        "card": "CARD-7",
        "resident_id": "wang",
    }
    assert "wang" in str(caught.value)


def test_unknown_card_error(registry: ResidentsRegistry) -> None:
    """Name the card that was looked for."""
    with pytest.raises(UnknownCardError) as caught:
        registry.remove_card(" CARD-9 ")
    assert caught.value.translation_key == "unknown_card"
    assert caught.value.translation_placeholders == {"card": "CARD-9"}


# Visitor passes --------------------------------------------------------------


def test_visitor_pass_lookups(registry: ResidentsRegistry) -> None:
    """Find a plate's valid pass and the active passes at an instant."""
    assert registry.valid_pass_for_plate("沪a·54321", T0) is not None
    assert registry.valid_pass_for_plate("沪A54321", T0 - HOUR) is None
    assert registry.valid_pass_for_plate("沪A54321", T0 + 2 * HOUR) is None
    assert registry.valid_pass_for_plate("沪A99999", T0) is None
    later = registry.add_visitor_pass(
        visitor_name="赵六",
        host_resident_id="wang",
        valid_from=T0 + HOUR,
        valid_until=T0 + 5 * HOUR,
        plate="沪A54321",
    )
    # Both passes are valid: the one lasting longer wins.
    assert registry.valid_pass_for_plate("沪A54321", T0 + HOUR) is later
    walk_in = registry.add_visitor_pass(
        visitor_name="快递员",
        host_resident_id="li",
        valid_from=(T0 - HOUR).astimezone(UTC),
        valid_until=T0 + 3 * HOUR,
    )
    assert [p.pass_id for p in registry.active_visitor_passes(T0)] == [
        walk_in.pass_id,
        "p1",
    ]
    assert [p.pass_id for p in registry.active_visitor_passes(T0 + 2 * HOUR)] == [
        walk_in.pass_id,
        later.pass_id,
    ]
    assert registry.active_visitor_passes(T0 + 5 * HOUR) == []


def test_next_pass_change(registry: ResidentsRegistry) -> None:
    """Return the next start or end strictly after an instant, in any time zone."""
    assert registry.next_pass_change(T0 - HOUR) == T0
    assert registry.next_pass_change(T0) == T0 + 2 * HOUR
    assert registry.next_pass_change(T0 + 2 * HOUR) is None
    registry.add_visitor_pass(
        pass_id="p2",
        visitor_name="钱八",
        host_resident_id="li",
        valid_from=(T0 + HOUR).astimezone(UTC),
        valid_until=T0 + 3 * HOUR,
    )
    assert registry.next_pass_change(T0) == T0 + HOUR
    assert registry.next_pass_change(T0 + HOUR) == T0 + 2 * HOUR
    assert registry.next_pass_change(T0 + 2 * HOUR) == T0 + 3 * HOUR
    registry.remove_visitor_pass("p2")
    assert registry.next_pass_change(T0) == T0 + 2 * HOUR


def test_purge_expired_passes(registry: ResidentsRegistry, listener: Counter) -> None:
    """Remove passes that ended, notifying only when something went."""
    registry.add_visitor_pass(
        pass_id="p2",
        visitor_name="钱八",
        host_resident_id="li",
        valid_from=T0,
        valid_until=T0 + 4 * HOUR,
    )
    assert listener.calls == 1
    assert registry.purge_expired_passes(T0 + HOUR) == 0
    assert listener.calls == 1
    assert registry.purge_expired_passes(T0 + 2 * HOUR) == 1
    assert [p.pass_id for p in registry.visitor_passes] == ["p2"]
    assert registry.valid_pass_for_plate("沪A54321", T0) is None
    assert listener.calls == 2


def test_remove_visitor_pass(registry: ResidentsRegistry, listener: Counter) -> None:
    """Withdraw a pass by ID and notify once."""
    removed = registry.remove_visitor_pass(" p1 ")
    assert removed.pass_id == "p1"
    assert len(registry.visitor_passes) == 0
    assert registry.next_pass_change(T0 - HOUR) is None
    assert listener.calls == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda r, t: r.valid_pass_for_plate("沪A54321", t),
        lambda r, t: r.active_visitor_passes(t),
        lambda r, t: r.next_pass_change(t),
        lambda r, t: r.purge_expired_passes(t),
    ],
)
def test_naive_instants_are_refused(
    registry: ResidentsRegistry, call: Callable[[ResidentsRegistry, datetime], Any]
) -> None:
    """Refuse naive instants instead of guessing their time zone."""
    with pytest.raises(ValueError, match="no time zone"):
        call(registry, T0.replace(tzinfo=None))


# Listeners -------------------------------------------------------------------


def test_listener_unsubscribe(registry: ResidentsRegistry) -> None:
    """Stop calling a listener after it unsubscribes, even from inside a call."""
    calls: list[str] = []

    def once() -> None:
        """Unsubscribe on the first call."""
        calls.append("once")
        unsubscribe_once()

    unsubscribe_once = registry.add_listener(once)
    unsubscribe_other = registry.add_listener(lambda: calls.append("other"))
    registry.update_resident("li", name="李四")
    registry.update_resident("li", name="李四")
    unsubscribe_other()
    unsubscribe_other()
    registry.update_resident("li", name="李四")
    assert calls == ["once", "other", "other"]


# Bulk changes ----------------------------------------------------------------


def new_resident(resident_id: str, household: str = "8-1-101") -> Resident:
    """Build a resident for a bulk change."""
    return Resident(
        resident_id,
        f"住户{resident_id}",
        Household.parse(household),
        None,
        frozenset(),
        (),
    )


def test_bulk_upsert_merges(registry: ResidentsRegistry, listener: Counter) -> None:
    """Add and update in one change; plates None keeps vehicles, a tuple replaces them."""
    result = registry.bulk_upsert(
        [
            ResidentRecord(new_resident("zhang", "3-2-1201"), ("粤B12345", "粤B67890")),
            ResidentRecord(new_resident("wang"), None),
            ResidentRecord(new_resident("new"), ("粤bd·12345",)),
        ]
    )
    assert (result.added, result.updated, result.removed, result.vehicles) == (
        1,
        2,
        0,
        4,
    )
    assert listener.calls == 1
    assert len(registry) == 5
    zhang = registry.vehicles_of("zhang")
    assert [(v.plate, v.label) for v in zhang] == [
        ("粤B12345", "白色轿车"),
        ("粤B67890", None),
    ]
    assert [v.plate for v in registry.vehicles_of("wang")] == ["京A1234警"]
    assert [v.plate for v in registry.vehicles_of("new")] == ["粤BD12345"]
    # Records carry no cards: the residents they update keep theirs.
    assert [c.card for c in registry.cards_of("zhang")] == ["04A1B2C3", "04A1B2C4"]
    assert [c.card for c in registry.cards_of("wang")] == ["CARD-7"]
    assert registry.cards_of("new") == []
    assert registry.get_resident("wang").household == Household("8", "1", "101")
    assert [r.resident_id for r in registry.residents_in_building("8")] == [
        "wang",
        "new",
    ]
    assert len(registry.visitor_passes) == 1


def test_bulk_upsert_replace(registry: ResidentsRegistry, listener: Counter) -> None:
    """Make the registry equal to the records, dropping the rest and their passes."""
    result = registry.bulk_upsert(
        [ResidentRecord(new_resident("new"), ("粤B12345",))], replace=True
    )
    assert (result.added, result.updated, result.removed, result.vehicles) == (
        1,
        0,
        4,
        1,
    )
    assert [r.resident_id for r in registry.residents] == ["new"]
    vehicle = registry.vehicle_for_plate("粤B12345")
    assert vehicle is not None
    assert (vehicle.resident_id, vehicle.label) == ("new", None)
    assert len(registry.vehicles) == 1
    assert len(registry.cards) == 0
    assert registry.card_for("04A1B2C3") is None
    assert len(registry.visitor_passes) == 0
    assert registry.next_pass_change(T0 - HOUR) is None
    assert listener.calls == 1


def test_bulk_upsert_replace_keeps_cards_of_kept_residents(
    registry: ResidentsRegistry,
) -> None:
    """Keep the cards of residents a replace lists; drop those of the rest."""
    registry.bulk_upsert(
        [ResidentRecord(new_resident("zhang", "3-2-1201"), ())], replace=True
    )
    assert [r.resident_id for r in registry.residents] == ["zhang"]
    assert registry.vehicles_of("zhang") == []
    cards = registry.cards_of("zhang")
    assert [(c.card, c.label) for c in cards] == [
        ("04A1B2C3", "门禁卡"),
        ("04A1B2C4", None),
    ]
    assert registry.card_for("card-7") is None
    # The card of a resident who left can be given to someone else.
    assert registry.add_card("zhang", "CARD-7").resident_id == "zhang"


def test_bulk_upsert_moves_plates_between_listed_residents(
    registry: ResidentsRegistry,
) -> None:
    """Let a plate change owner when both owners are in the change."""
    registry.bulk_upsert(
        [
            ResidentRecord(new_resident("zhang", "3-2-1201"), ()),
            ResidentRecord(new_resident("li", "3-2-1202"), ("粤B12345",)),
        ]
    )
    vehicle = registry.vehicle_for_plate("粤B12345")
    assert vehicle is not None
    assert (vehicle.resident_id, vehicle.label) == ("li", None)
    assert registry.vehicles_of("zhang") == []


@pytest.mark.parametrize(
    ("records", "error"),
    [
        (
            [ResidentRecord(new_resident("a")), ResidentRecord(new_resident("a"))],
            DuplicateResidentError,
        ),
        ([ResidentRecord(new_resident("a"), ("粤B12345",))], DuplicatePlateError),
        ([ResidentRecord(new_resident("a"), ("粤C1",))], InvalidPlateError),
        (
            [
                ResidentRecord(new_resident("a"), ("粤C11111",)),
                ResidentRecord(new_resident("b"), ("粤c11111",)),
            ],
            DuplicatePlateError,
        ),
        (
            [
                ResidentRecord(new_resident("a"), ("粤B12345",)),
                ResidentRecord(new_resident("zhang"), None),
            ],
            DuplicatePlateError,
        ),
    ],
)
def test_bulk_upsert_is_all_or_nothing(
    registry: ResidentsRegistry,
    listener: Counter,
    records: list[ResidentRecord],
    error: type[CommunityError],
) -> None:
    """Refuse the whole change on any conflict, silently."""
    before = registry.to_dict()
    with pytest.raises(error):
        registry.bulk_upsert(records)
    assert registry.to_dict() == before
    assert listener.calls == 0


def test_empty_bulk_upsert_is_silent(
    registry: ResidentsRegistry, listener: Counter
) -> None:
    """Notify nobody when nothing changed."""
    result = registry.bulk_upsert([])
    assert (result.added, result.updated, result.removed) == (0, 0, 0)
    assert listener.calls == 0


# Persistence -----------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强春梅海燕红梅玉兰"
SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def synthetic_registry(residents: int, seed: int = 7) -> ResidentsRegistry:
    """Build a deterministic community with phones, tags, plates and passes."""
    rng = random.Random(seed)
    registry = ResidentsRegistry()
    for index in range(residents):
        resident = registry.add_resident(
            resident_id=f"r{index:05d}",
            name=rng.choice(SURNAMES)
            + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
            household=Household(
                str(index % 40 + 1),
                str(index % 4 + 1),
                f"{index // 160 + 1}0{index % 4 + 1}",
            ),
            phone=f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}"
            if rng.random() < 0.9
            else None,
            tags=[TAG_ELDERLY_LIVING_ALONE] if rng.random() < 0.05 else [],
            notify_targets=[f"notify.mobile_app_r{index}"]
            if rng.random() < 0.3
            else [],
        )
        if index % 5 < 3:
            registry.add_vehicle(
                resident.resident_id,
                f"粤B{index:05d}"
                if index % 2
                else f"粤BD{rng.choice(SERIAL)}{index % 10000:04d}",
                "家用车" if index % 7 == 0 else None,
            )
        if index % 4 == 0:
            registry.add_card(
                resident.resident_id,
                f"{rng.randrange(16**8):08x}{index:05d}",
                "充电卡" if index % 3 == 0 else None,
            )
        if index % 250 == 0:
            registry.add_visitor_pass(
                visitor_name="访客",
                host_resident_id=resident.resident_id,
                valid_from=T0 + index * HOUR,
                valid_until=T0 + (index + 3) * HOUR + timedelta(microseconds=index),
                plate=f"湘A{index:05d}" if index % 500 else None,
            )
    return registry


def test_round_trip_5000_residents() -> None:
    """Restore exactly what was saved, through JSON, with all indexes working."""
    registry = synthetic_registry(5000)
    data = registry.to_dict()
    assert data["version"] == STORAGE_VERSION
    restored = ResidentsRegistry.from_dict(json.loads(json.dumps(data)))
    assert restored.to_dict() == data
    assert list(restored.residents) == list(registry.residents)
    assert list(restored.vehicles) == list(registry.vehicles)
    assert list(restored.cards) == list(registry.cards)
    assert list(restored.visitor_passes) == list(registry.visitor_passes)
    assert restored.households == registry.households
    assert len(restored) == 5000
    assert len(restored.vehicles) == 3000
    assert len(restored.cards) == 1250
    assert restored.residents_in_building("7") == registry.residents_in_building("7")
    assert restored.residents_with_tag(
        TAG_ELDERLY_LIVING_ALONE
    ) == registry.residents_with_tag(TAG_ELDERLY_LIVING_ALONE)
    for vehicle in registry.vehicles:
        assert restored.vehicle_for_plate(vehicle.plate) == vehicle
    for card in registry.cards:
        assert restored.card_for(card.card.lower()) == card
        assert restored.cards_of(card.resident_id) == registry.cards_of(
            card.resident_id
        )
    after = T0 + 100 * HOUR
    assert restored.next_pass_change(after) == registry.next_pass_change(after)
    assert restored.active_visitor_passes(after) == registry.active_visitor_passes(
        after
    )


def test_to_dict_shape(registry: ResidentsRegistry) -> None:
    """Store plain JSON types: sorted tag lists and ISO times."""
    data = registry.to_dict()
    assert data["residents"][0] == {
        "resident_id": "zhang",
        "name": "张三",
        "household": {"building": "3", "unit": "2", "room": "1201"},
        "phone": "13800138000",
        "tags": [TAG_ELDERLY_LIVING_ALONE],
        "notify_targets": ["notify.mobile_app_zhang_san"],
        "vehicles": [
            {"plate": "粤B12345", "label": "白色轿车"},
            {"plate": "粤BD12345", "label": None},
        ],
        "cards": [
            {"card": "04A1B2C3", "label": "门禁卡"},
            {"card": "04A1B2C4", "label": None},
        ],
    }
    assert data["residents"][1]["cards"] == []
    assert data["visitor_passes"] == [
        {
            "pass_id": "p1",
            "visitor_name": "赵六",
            "plate": "沪A54321",
            "host_resident_id": "li",
            "valid_from": "2025-03-01T08:00:00+08:00",
            "valid_until": "2025-03-01T10:00:00+08:00",
        }
    ]


def test_from_dict_starts_without_listeners(
    registry: ResidentsRegistry, listener: Counter
) -> None:
    """Give a restored registry its own listeners."""
    restored = ResidentsRegistry.from_dict(registry.to_dict())
    restored.remove_resident("li")
    assert listener.calls == 0


def corrupt(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Return stored data of a small registry, changed."""
    registry = ResidentsRegistry()
    registry.add_resident(resident_id="a", name="甲", household="1-1-101")
    registry.add_vehicle("a", "粤B12345")
    registry.add_card("a", "CARD-1")
    registry.add_visitor_pass(
        pass_id="p",
        visitor_name="乙",
        host_resident_id="a",
        valid_from=T0,
        valid_until=T0 + HOUR,
    )
    data: dict[str, Any] = json.loads(json.dumps(registry.to_dict()))
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda d: d.update(version=2), InvalidStoredDataError),
        (lambda d: d.pop("version"), InvalidStoredDataError),
        (lambda d: d.pop("residents"), InvalidStoredDataError),
        (lambda d: d["residents"][0].pop("name"), InvalidStoredDataError),
        (lambda d: d["residents"][0].update(tags=None), InvalidStoredDataError),
        (
            lambda d: d["visitor_passes"][0].update(valid_from="yesterday"),
            InvalidStoredDataError,
        ),
        (lambda d: d["residents"][0].update(phone="12"), InvalidPhoneError),
        (lambda d: d["residents"].append(d["residents"][0]), DuplicateResidentError),
        (
            lambda d: d["residents"].append(d["residents"][0] | {"resident_id": "b"}),
            DuplicatePlateError,
        ),
        (
            lambda d: d["residents"].append(
                d["residents"][0] | {"resident_id": "b", "vehicles": []}
            ),
            DuplicateCardError,
        ),
        (
            lambda d: d["residents"][0]["cards"][0].update(card="CARD 1"),
            InvalidCardError,
        ),
        (
            lambda d: d["residents"][0]["cards"][0].pop("label"),
            InvalidStoredDataError,
        ),
        (lambda d: d["residents"][0].update(cards=None), InvalidStoredDataError),
        (
            lambda d: d["visitor_passes"].append(d["visitor_passes"][0]),
            DuplicateVisitorPassError,
        ),
        (
            lambda d: d["visitor_passes"][0].update(host_resident_id="x"),
            UnknownResidentError,
        ),
    ],
)
def test_from_dict_rejects_corrupt_data(
    change: Callable[[dict[str, Any]], None], error: type[CommunityError]
) -> None:
    """Refuse stored data that is broken, with a CommunityError."""
    with pytest.raises(error):
        ResidentsRegistry.from_dict(corrupt(change))


def test_from_dict_reads_data_saved_before_cards(
    registry: ResidentsRegistry,
) -> None:
    """Load residents stored without a cards key as having no cards."""
    data = json.loads(json.dumps(registry.to_dict()))
    for resident in data["residents"]:
        del resident["cards"]
    restored = ResidentsRegistry.from_dict(data)
    assert len(restored) == 4
    assert len(restored.vehicles) == 3
    assert len(restored.cards) == 0
    assert restored.cards_of("zhang") == []
    assert restored.add_card("zhang", "04A1B2C3").resident_id == "zhang"


def test_stored_data_error_translation() -> None:
    """Describe a bad stored version for the user."""
    with pytest.raises(InvalidStoredDataError) as caught:
        ResidentsRegistry.from_dict({"version": 99})
    assert caught.value.translation_key == "invalid_stored_data"
    assert caught.value.translation_placeholders == {"reason": "unsupported version 99"}
