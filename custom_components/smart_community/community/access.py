"""Decide who may pass a gate: one rule for every plate a camera reads.

The decision looks a plate up as read and, when that finds nothing, as it may
have been misread: plate readers confuse a few characters (0 with D and Q, 8
with B, ...). A misread counts only when it points at exactly one registered
plate; a read that could be two vehicles is treated as unknown.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import combinations, product
from typing import Final

from .models import Resident, Vehicle, VisitorPass
from .plates import normalize_plate
from .registry import ResidentsRegistry

# Characters plate readers mistake for each other. The province (first
# character) is never guessed: a misread province is a different plate.
CONFUSABLE_GROUPS: Final = ("0DQ", "8B", "2Z", "5S", "6G", "1T", "4A")
_CONFUSABLE: Final = {
    char: tuple(other for other in group if other != char)
    for group in CONFUSABLE_GROUPS
    for char in group
}
MAX_TOLERANCE: Final = 2
DEFAULT_TOLERANCE: Final = 1


class Direction(StrEnum):
    """Which way a lane lets vehicles through."""

    ENTRY = "entry"
    EXIT = "exit"


class UnknownVehiclePolicy(StrEnum):
    """What a lane does with a vehicle it cannot place."""

    DENY = "deny"
    ALLOW = "allow"


class Verdict(StrEnum):
    """Who a read plate turned out to be; whether the gate opens is separate."""

    RESIDENT = "resident"
    VISITOR = "visitor"
    EXPIRED_PASS = "expired_pass"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"
    NO_PLATE = "no_plate"


@dataclass(frozen=True, slots=True)
class LaneTexts:
    """What the lane's voice and display say; ``{plate}`` is replaced."""

    resident: str
    visitor: str
    denied: str
    blocked: str

    @classmethod
    def defaults(cls, direction: Direction) -> LaneTexts:
        """Return the usual wording of a Chinese car park for a direction."""
        if direction is Direction.ENTRY:
            return cls(
                resident="欢迎回家 {plate}",
                visitor="欢迎光临 {plate}",
                denied="未登记车辆 {plate}",
                blocked="禁止通行 {plate}",
            )
        return cls(
            resident="一路平安 {plate}",
            visitor="一路平安 {plate}",
            denied="请联系管理处 {plate}",
            blocked="禁止通行 {plate}",
        )


@dataclass(frozen=True, slots=True)
class LanePolicy:
    """How one lane treats what it reads."""

    direction: Direction
    unknown_vehicles: UnknownVehiclePolicy = UnknownVehiclePolicy.DENY
    visitors_allowed: bool = True
    tolerance: int = DEFAULT_TOLERANCE
    texts: LaneTexts | None = None

    def __post_init__(self) -> None:
        """Refuse a tolerance the matcher does not offer."""
        if not 0 <= self.tolerance <= MAX_TOLERANCE:
            raise ValueError(
                f"the tolerance must be 0 to {MAX_TOLERANCE}, not {self.tolerance}"
            )

    @property
    def wording(self) -> LaneTexts:
        """Return the lane's texts, or the defaults for its direction."""
        return self.texts or LaneTexts.defaults(self.direction)


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """What the community decided about one plate read at one lane."""

    plate: str
    verdict: Verdict
    opens: bool
    # The registered plate the read was matched to; differs from plate on a misread.
    matched_plate: str | None = None
    resident: Resident | None = None
    visitor_pass: VisitorPass | None = None
    # Said on the voice and shown on the display; None says nothing.
    message: str | None = None
    offline: bool = False
    blocked_reason: str | None = field(default=None, repr=False)


def plate_variants(plate: str, tolerance: int) -> Iterator[tuple[int, str]]:
    """Yield (substitutions, spelling) for every misreading within the tolerance.

    The read itself comes first with 0 substitutions; then each spelling once,
    fewest substitutions first. Only confusable characters after the province
    are replaced.
    """

    yield 0, plate
    positions = [index for index in range(1, len(plate)) if plate[index] in _CONFUSABLE]
    for count in range(1, min(tolerance, len(positions)) + 1):
        for chosen in combinations(positions, count):
            for replacements in product(*(_CONFUSABLE[plate[i]] for i in chosen)):
                chars = list(plate)
                for index, replacement in zip(chosen, replacements, strict=True):
                    chars[index] = replacement
                yield count, "".join(chars)


class AccessDecider:
    """Apply the community's rules to plates, reading the registry live."""

    def __init__(self, registry: ResidentsRegistry) -> None:
        """Decide against a registry, which may change between decisions."""
        self._registry = registry

    def decide(
        self,
        raw_plate: str,
        policy: LanePolicy,
        at: datetime,
        *,
        offline: bool = False,
    ) -> AccessDecision:
        """Decide whether a plate read at a lane at an instant opens the gate.

        Blocklisted plates never open. A record the camera kept while it could
        not reach us (offline) is judged for the record but never opens: the car
        has long gone, by the gate or not.
        """

        plate = normalize_plate(raw_plate)
        if not plate:
            return AccessDecision(plate="", verdict=Verdict.NO_PLATE, opens=False)
        decision = self._judge(plate, policy, at)
        if offline:
            return AccessDecision(
                plate=decision.plate,
                verdict=decision.verdict,
                opens=False,
                matched_plate=decision.matched_plate,
                resident=decision.resident,
                visitor_pass=decision.visitor_pass,
                offline=True,
                blocked_reason=decision.blocked_reason,
            )
        return decision

    def _judge(self, plate: str, policy: LanePolicy, at: datetime) -> AccessDecision:
        """Match the plate at the smallest misreading distance that finds anything."""
        registry = self._registry
        texts = policy.wording
        found_distance: int | None = None
        blocked: dict[str, str | None] = {}
        vehicles: dict[str, Vehicle] = {}
        passes: dict[str, list[VisitorPass]] = {}
        for distance, spelling in plate_variants(plate, policy.tolerance):
            if found_distance is not None and distance > found_distance:
                break
            if (block := registry.blocked_plate(spelling)) is not None:
                blocked[spelling] = block.reason
            if (vehicle := registry.vehicle_for_plate(spelling)) is not None:
                vehicles[spelling] = vehicle
            if pass_list := registry.passes_for_plate(spelling):
                passes[spelling] = pass_list
            if blocked or vehicles or passes:
                found_distance = distance

        def say(template: str) -> str:
            return template.format(plate=plate)

        if blocked:
            matched, reason = next(iter(blocked.items()))
            return AccessDecision(
                plate=plate,
                verdict=Verdict.BLOCKED,
                opens=False,
                matched_plate=matched,
                message=say(texts.blocked),
                blocked_reason=reason,
            )
        if len(vehicles.keys() | passes.keys()) > 1:
            # A misread that fits several plates: no guessing.
            return self._unknown(plate, policy, Verdict.UNKNOWN, None, None)
        if vehicles:
            matched, vehicle = next(iter(vehicles.items()))
            return AccessDecision(
                plate=plate,
                verdict=Verdict.RESIDENT,
                opens=True,
                matched_plate=matched,
                resident=registry.get_resident(vehicle.resident_id),
                message=say(texts.resident),
            )
        if passes:
            matched, pass_list = next(iter(passes.items()))
            valid = [item for item in pass_list if item.is_valid_at(at)]
            if valid:
                visitor_pass = max(valid, key=lambda item: item.valid_until)
                allowed = policy.visitors_allowed
                return AccessDecision(
                    plate=plate,
                    verdict=Verdict.VISITOR,
                    opens=allowed,
                    matched_plate=matched,
                    resident=registry.get_resident(visitor_pass.host_resident_id),
                    visitor_pass=visitor_pass,
                    message=say(texts.visitor if allowed else texts.denied),
                )
            latest = max(pass_list, key=lambda item: item.valid_until)
            return self._unknown(plate, policy, Verdict.EXPIRED_PASS, matched, latest)
        return self._unknown(plate, policy, Verdict.UNKNOWN, None, None)

    @staticmethod
    def _unknown(
        plate: str,
        policy: LanePolicy,
        verdict: Verdict,
        matched: str | None,
        visitor_pass: VisitorPass | None,
    ) -> AccessDecision:
        """Apply the lane's policy for vehicles it may not recognise."""
        texts = policy.wording
        opens = policy.unknown_vehicles is UnknownVehiclePolicy.ALLOW
        template = texts.visitor if opens else texts.denied
        return AccessDecision(
            plate=plate,
            verdict=verdict,
            opens=opens,
            matched_plate=matched,
            visitor_pass=visitor_pass,
            message=template.format(plate=plate),
        )
