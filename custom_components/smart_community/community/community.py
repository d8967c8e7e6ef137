"""The runtime of one residential community: its buildings and its residents."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from ..vision.gallery import FaceGallery
from ..vision.pipeline import Recognizer
from .activity import ActivityLog
from .cameras import CameraWatch
from .charging_centre import ChargingCentre
from .enrolment import EmployeeNumbers, EnrolmentPlanner, EnrolmentWorker
from .fire import FireCentre, FirePanel
from .gates import GateLane
from .meters import PowerMeter
from .models import TAG_ELDERLY_LIVING_ALONE
from .paging import Broadcaster
from .parking import ParkingLot
from .registry import ResidentsRegistry
from .terminals import TerminalHub


class FacePictures(Protocol):
    """Where residents' enrolled face pictures are kept."""

    async def get(self, resident_id: str) -> bytes | None:
        """Return a resident's picture, or None."""

    async def put(self, resident_id: str, picture: bytes) -> None:
        """Store a resident's picture."""

    async def prune(self, residents: set[str]) -> int:
        """Delete the pictures of people who are no longer residents."""


@dataclass(slots=True, frozen=True)
class Building:
    """A building of the community, as configured by the property manager."""

    building_id: str
    name: str


@dataclass(slots=True, frozen=True)
class Occupancy:
    """Who lives in a building or in the whole community."""

    residents: int
    households: int
    elderly_living_alone: int


class Community:
    """One residential community (小区): its buildings and residents registry."""

    def __init__(
        self, name: str, registry: ResidentsRegistry, buildings: Iterable[Building]
    ) -> None:
        """Create the runtime of a community."""
        self.name = name
        self.registry = registry
        self.buildings: dict[str, Building] = {
            building.building_id: building for building in buildings
        }
        # Face terminals by their subentry ID.
        self.terminals: dict[str, TerminalHub] = {}
        # Terminals know residents by employee number.
        self.employee_numbers = EmployeeNumbers(registry)
        # Set up with the terminals: what keeps them in step with the registry.
        self.enrolment: EnrolmentPlanner | None = None
        self.enrolment_worker: EnrolmentWorker | None = None
        self.faces: FacePictures | None = None
        # Gate lanes and car parks by their subentry ID.
        self.lanes: dict[str, GateLane] = {}
        self.parking_lots: dict[str, ParkingLot] = {}
        # Power meters and fire panels by their subentry ID; fire centres by port.
        self.meters: dict[str, PowerMeter] = {}
        self.fire_panels: dict[str, FirePanel] = {}
        self.fire_centres: dict[int, FireCentre] = {}
        # The central system of the charging stations; set up with the stations.
        self.charging: ChargingCentre | None = None
        # Emergency broadcast to the speaker zones; set up with the zones.
        self.broadcaster: Broadcaster | None = None
        # Recognising cameras by their subentry ID, the residents' enrolled face
        # embeddings, and the recognizer (None where its runtime is missing).
        self.cameras: dict[str, CameraWatch] = {}
        self.face_gallery = FaceGallery()
        self.recognizer: Recognizer | None = None
        # Who of the watched residents was last active when; set up at start.
        self.activity = ActivityLog()
        # Saves the gallery soon; set up with the cameras.
        self.save_gallery: Callable[[], None] | None = None

    def building_occupancy(self, building_id: str) -> Occupancy:
        """Count the residents, households and elderly living alone in a building."""
        residents = self.registry.residents_in_building(building_id)
        return Occupancy(
            residents=len(residents),
            households=len({resident.household for resident in residents}),
            elderly_living_alone=sum(
                TAG_ELDERLY_LIVING_ALONE in resident.tags for resident in residents
            ),
        )

    def occupancy(self) -> Occupancy:
        """Count the residents, households and elderly living alone in the community."""
        return Occupancy(
            residents=len(self.registry),
            households=len(self.registry.households),
            elderly_living_alone=len(
                self.registry.residents_with_tag(TAG_ELDERLY_LIVING_ALONE)
            ),
        )
