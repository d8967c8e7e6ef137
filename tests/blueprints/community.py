"""A real community for the eldercare blueprints: the integration set up for real.

Building 1 has one speaker zone, played by the simulator; text-to-speech is the
test engine. The persistent notifications Home Assistant shows are recorded.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from homeassistant.components.persistent_notification import (
    Notification,
    UpdateType,
    async_register_callback,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.conftest import add_resident, call
from tests.safety_helpers import safety_entity, safety_entry, scenario_with
from tests.simulator_harness import SimulatorProcess, StartSimulator
from tests.speech import async_setup_speech
from tests.test_broadcast import complete, zone_subentry

from .helpers import async_settle_until, async_turn_off_automations

SPEAKER: Final = "speaker-1"
ZONE: Final = {
    "id": SPEAKER,
    "kind": "speaker_zone",
    "building": "1",
    "name": "1号楼 广播分区",
    "options": {"codec": "PCMU", "speakers": 2, "gap_ms": 400},
}
# Long enough for the test engine's 1.5 s of speech on a loaded machine.
BROADCAST_SECONDS: Final = 20


@dataclass
class Community:
    """The community entry, its speaker zone and what Home Assistant showed."""

    entry: MockConfigEntry
    simulator: SimulatorProcess
    zone: str
    notifications: dict[str, Notification]

    async def async_heard(self, hass: HomeAssistant, count: int = 1) -> None:
        """Let broadcasts stream until the zone has heard ``count`` complete ones."""
        await async_settle_until(
            hass, lambda: complete(self.simulator, SPEAKER, count), BROADCAST_SECONDS
        )

    async def async_add_elder(
        self, hass: HomeAssistant, name: str, **sources: Any
    ) -> str:
        """Add a resident who lives alone, link their activity sources; return the ID."""
        resident_id = await add_resident(
            hass, self.entry, name=name, tags=["elderly_living_alone"]
        )
        await call(
            hass,
            "link_activity_sources",
            self.entry,
            resident_id=resident_id,
            **sources,
        )
        await hass.async_block_till_done()
        return resident_id

    async def async_announcements(self) -> int:
        """Count the announcements the zone has heard, complete or not."""
        state = (await self.simulator.snapshot(SPEAKER))["state"]
        return len(state["announcements"])


@pytest.fixture
async def community(
    hass: HomeAssistant, start_simulator: StartSimulator, tmp_path: Path
) -> AsyncIterator[Community]:
    """Set the community up with building 1's speaker zone.

    Automations are turned off at the end: time triggers would stay planned.
    """
    # Always set up in a real Home Assistant.
    assert await async_setup_component(hass, "persistent_notification", {})
    notifications: dict[str, Notification] = {}

    @callback
    def shown(_update: UpdateType, changed: dict[str, Notification]) -> None:
        notifications.update(changed)

    unsubscribe = async_register_callback(hass, shown)
    simulator = start_simulator(scenario_with(tmp_path, [ZONE]))
    entry = safety_entry(
        zone_subentry(
            "zone-1", "1号楼 广播分区", simulator.device(SPEAKER)["port"], "PCMU"
        )
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await async_setup_speech(hass)
    yield Community(
        entry,
        simulator,
        safety_entity(hass, "media_player", "zone-1_player"),
        notifications,
    )
    unsubscribe()
    await async_turn_off_automations(hass)
