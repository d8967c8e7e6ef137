"""Test the access decision at gates: residents, passes, blocklist, misreads, policy."""

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.smart_community.community.access import (
    CONFUSABLE_GROUPS,
    AccessDecider,
    Direction,
    LanePolicy,
    LaneTexts,
    UnknownVehiclePolicy,
    Verdict,
    plate_variants,
)
from custom_components.smart_community.community.errors import (
    InvalidResidentError,
    UnknownBlockedPlateError,
)
from custom_components.smart_community.community.registry import ResidentsRegistry

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
ENTRY = LanePolicy(direction=Direction.ENTRY)
EXIT = LanePolicy(direction=Direction.EXIT, unknown_vehicles=UnknownVehiclePolicy.ALLOW)


@pytest.fixture
def registry() -> ResidentsRegistry:
    """Return a registry with a resident who owns two cars and hosts a visitor."""
    registry = ResidentsRegistry()
    registry.add_resident(
        name="张伟", household="1-1-101", phone=None, resident_id="R1"
    )
    registry.add_vehicle("R1", "京A12345")
    registry.add_vehicle("R1", "粤BD12345")
    registry.add_visitor_pass(
        visitor_name="李娜",
        host_resident_id="R1",
        valid_from=NOW - timedelta(hours=1),
        valid_until=NOW + timedelta(hours=1),
        plate="沪C54321",
        pass_id="P1",
    )
    registry.add_visitor_pass(
        visitor_name="王芳",
        host_resident_id="R1",
        valid_from=NOW - timedelta(days=2),
        valid_until=NOW - timedelta(days=1),
        plate="苏E77777",
        pass_id="P2",
    )
    return registry


def test_resident_opens_with_welcome(registry: ResidentsRegistry) -> None:
    """A resident's plate, written any common way, opens and is welcomed home."""
    decision = AccessDecider(registry).decide("京A·12345", ENTRY, NOW)
    assert decision.verdict is Verdict.RESIDENT
    assert decision.opens
    assert decision.resident is not None
    assert decision.resident.resident_id == "R1"
    assert decision.message == "欢迎回家 京A12345"
    assert decision.matched_plate == "京A12345"


def test_green_plate_resident(registry: ResidentsRegistry) -> None:
    """An 8-character new-energy plate matches like any other."""
    decision = AccessDecider(registry).decide("粤BD12345", ENTRY, NOW)
    assert decision.verdict is Verdict.RESIDENT
    assert decision.opens


def test_valid_pass_opens_and_expired_does_not(registry: ResidentsRegistry) -> None:
    """A visitor on a valid pass opens; a pass that has ended keeps the gate down."""
    decider = AccessDecider(registry)
    visitor = decider.decide("沪C54321", ENTRY, NOW)
    assert visitor.verdict is Verdict.VISITOR
    assert visitor.opens
    assert visitor.visitor_pass is not None
    assert visitor.visitor_pass.pass_id == "P1"
    assert visitor.resident is not None  # the host
    assert visitor.message == "欢迎光临 沪C54321"
    expired = decider.decide("苏E77777", ENTRY, NOW)
    assert expired.verdict is Verdict.EXPIRED_PASS
    assert not expired.opens
    assert expired.message == "未登记车辆 苏E77777"
    # The same pass, an hour after it ends.
    later = decider.decide("沪C54321", ENTRY, NOW + timedelta(hours=2))
    assert later.verdict is Verdict.EXPIRED_PASS
    assert not later.opens


def test_visitors_refused_where_not_allowed(registry: ResidentsRegistry) -> None:
    """A lane that admits no visitors keeps a valid pass out, saying so."""
    policy = LanePolicy(direction=Direction.ENTRY, visitors_allowed=False)
    decision = AccessDecider(registry).decide("沪C54321", policy, NOW)
    assert decision.verdict is Verdict.VISITOR
    assert not decision.opens
    assert decision.message == "未登记车辆 沪C54321"


def test_unknown_follows_lane_policy(registry: ResidentsRegistry) -> None:
    """Unknown plates stay out at a denying entry and leave by an allowing exit."""
    decider = AccessDecider(registry)
    entry = decider.decide("浙A99999", ENTRY, NOW)
    assert entry.verdict is Verdict.UNKNOWN
    assert not entry.opens
    exit_ = decider.decide("浙A99999", EXIT, NOW)
    assert exit_.verdict is Verdict.UNKNOWN
    assert exit_.opens
    assert exit_.message == "一路平安 浙A99999"


def test_blocklist_never_opens(registry: ResidentsRegistry) -> None:
    """A blocked plate stays out even if it is a resident's, even at an open exit."""
    registry.block_plate("京A12345", "欠费")
    decider = AccessDecider(registry)
    for policy in (ENTRY, EXIT):
        decision = decider.decide("京A12345", policy, NOW)
        assert decision.verdict is Verdict.BLOCKED
        assert not decision.opens
        assert decision.blocked_reason == "欠费"
        assert decision.message == "禁止通行 京A12345"
    # A misread of a blocked plate is blocked too.
    assert decider.decide("京A1234S", ENTRY, NOW).verdict is Verdict.BLOCKED
    registry.unblock_plate("京a12345")
    assert decider.decide("京A12345", ENTRY, NOW).opens
    with pytest.raises(UnknownBlockedPlateError):
        registry.unblock_plate("京A12345")


def test_block_reason_is_checked(registry: ResidentsRegistry) -> None:
    """A reason on several lines is refused; a blank one is dropped."""
    with pytest.raises(InvalidResidentError):
        registry.block_plate("京A12345", "line\nbreak")
    assert registry.block_plate("京A12345", "  ").reason is None


def test_misread_matches_within_tolerance(registry: ResidentsRegistry) -> None:
    """0/D and 8/B misreads match within the tolerance, not beyond it."""
    decider = AccessDecider(registry)
    one = decider.decide("京A1234S", ENTRY, NOW)
    assert one.verdict is Verdict.RESIDENT
    assert one.plate == "京A1234S"
    assert one.matched_plate == "京A12345"
    strict = LanePolicy(direction=Direction.ENTRY, tolerance=0)
    assert decider.decide("京A1234S", strict, NOW).verdict is Verdict.UNKNOWN
    two = decider.decide("京AT234S", ENTRY, NOW)
    assert two.verdict is Verdict.UNKNOWN
    lenient = LanePolicy(direction=Direction.ENTRY, tolerance=2)
    assert decider.decide("京AT234S", lenient, NOW).verdict is Verdict.RESIDENT
    # The province is never guessed.
    assert decider.decide("津A12345", lenient, NOW).verdict is Verdict.UNKNOWN


def test_ambiguous_misread_matches_nothing(registry: ResidentsRegistry) -> None:
    """A read that fits two registered plates opens for neither."""
    registry.add_vehicle("R1", "京A1D345")
    registry.add_vehicle("R1", "京A1Q345")
    decider = AccessDecider(registry)
    # 京A10345 is one substitution from either (0/D, 0/Q): no match.
    assert decider.decide("京A10345", ENTRY, NOW).verdict is Verdict.UNKNOWN
    # Exact reads still match.
    assert decider.decide("京A1D345", ENTRY, NOW).verdict is Verdict.RESIDENT
    registry.add_visitor_pass(
        visitor_name="赵六",
        host_resident_id="R1",
        valid_from=NOW - timedelta(hours=1),
        valid_until=NOW + timedelta(hours=1),
        plate="京A12845",
    )
    # 京A1Z845 is one substitution (Z/2) from the visitor's 京A12845 only.
    assert decider.decide("京A1Z845", ENTRY, NOW).verdict is Verdict.VISITOR
    registry.add_vehicle("R1", "京A1Z8A5")
    # 京A1Z845 is now one substitution from both 京A12845 (pass) and 京A1Z8A5.
    assert decider.decide("京A1Z845", ENTRY, NOW).verdict is Verdict.UNKNOWN


def test_offline_records_never_open(registry: ResidentsRegistry) -> None:
    """A record re-pushed after an outage is judged but opens nothing, says nothing."""
    decision = AccessDecider(registry).decide("京A12345", ENTRY, NOW, offline=True)
    assert decision.verdict is Verdict.RESIDENT
    assert decision.offline
    assert not decision.opens
    assert decision.message is None


def test_no_plate(registry: ResidentsRegistry) -> None:
    """An empty read is no plate; nothing opens."""
    decision = AccessDecider(registry).decide(" ", EXIT, NOW)
    assert decision.verdict is Verdict.NO_PLATE
    assert not decision.opens


def test_custom_texts(registry: ResidentsRegistry) -> None:
    """A lane's own wording replaces the defaults."""
    texts = LaneTexts(
        resident="Welcome {plate}",
        visitor="Hello {plate}",
        denied="No {plate}",
        blocked="Never {plate}",
    )
    policy = LanePolicy(direction=Direction.ENTRY, texts=texts)
    decider = AccessDecider(registry)
    assert decider.decide("京A12345", policy, NOW).message == "Welcome 京A12345"
    assert decider.decide("浙A99999", policy, NOW).message == "No 浙A99999"


def test_tolerance_is_bounded() -> None:
    """The matcher offers 0 to 2 substitutions."""
    with pytest.raises(ValueError, match="tolerance"):
        LanePolicy(direction=Direction.ENTRY, tolerance=3)


def test_plate_variants() -> None:
    """Variants come fewest substitutions first, once each, never the province."""
    variants = list(plate_variants("京A0B", 2))
    assert variants[0] == (0, "京A0B")
    spellings = [spelling for _, spelling in variants]
    assert len(spellings) == len(set(spellings))
    assert all(spelling[0] == "京" for spelling in spellings)
    distances = [distance for distance, _ in variants]
    assert distances == sorted(distances)
    # A is confusable with 4; 0 with D and Q; B with 8.
    assert (1, "京4" + "0B") in variants
    assert (2, "京AD8") in variants
    assert all(len(group) == len(set(group)) for group in CONFUSABLE_GROUPS)
