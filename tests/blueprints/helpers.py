"""Install a blueprint, give it the entities it works on, and record what it does.

The eldercare tests, and one test per other blueprint, set the integration up for
real against simulated devices (see ``community`` and the conftest). The others,
which cover each blueprint's rules case by case, put its entities in the entity and device registries as the integration
would register them (under a community entry, on their devices), write their
states directly, and replace the actions a blueprint calls by recorders. Managers' phones are
mobile_app devices whose notify actions are recorded the same way.

The ``hass_config_dir`` fixture (offered by the conftest) gives each test a
configuration folder of its own to copy its blueprint into.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
import re
import shutil
from typing import Any, Final

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util, slugify
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)

from custom_components.smart_community.const import DOMAIN
from custom_components.smart_community.services import SCHEMAS
from tests.conftest import COMMUNITY_NAME

BLUEPRINTS: Final = Path(__file__).parents[2] / "blueprints" / "automation" / DOMAIN
SOURCE_URL: Final = (
    "https://github.com/smart-community-ha/smart-community/blob/main/"
    "blueprints/automation/smart_community/{}"
)
MOBILE_APP: Final = "mobile_app"
MIN_VERSION: Final = (2025, 1, 0)
HAN: Final = re.compile(r"[\u4e00-\u9fff]")
LATIN: Final = re.compile(r"[A-Za-z]{3,}")
# Enough turns of the event loop for any chain of callbacks in these tests.
SETTLE_TURNS: Final = 1000
# The integration's lock actions are entity actions; the rest take a community.
ENTITY_ACTIONS: Final = frozenset({"hold_open", "release_hold"})


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Give each test a configuration folder of its own to copy blueprints into."""
    return hass_tmp_config_dir


async def async_install_blueprint(hass: HomeAssistant, file_name: str) -> str:
    """Copy a blueprint where Home Assistant looks for it; return its path there."""
    folder = Path(hass.config.path("blueprints", "automation", DOMAIN))

    def copy() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BLUEPRINTS / file_name, folder / file_name)

    await hass.async_add_executor_job(copy)
    return f"{DOMAIN}/{file_name}"


async def async_load_blueprint(hass: HomeAssistant, file_name: str) -> Blueprint:
    """Load a blueprint as the automation integration does, schema and all."""
    path = await async_install_blueprint(hass, file_name)
    blueprint: Blueprint = await async_get_blueprints(hass).async_get_blueprint(path)
    assert blueprint.validate() is None, f"{file_name} needs a newer Home Assistant"
    return blueprint


def assert_house_rules(blueprint: Blueprint, file_name: str) -> None:
    """Check what every blueprint of the project must have in its metadata."""
    metadata = blueprint.metadata
    assert metadata["domain"] == "automation"
    assert metadata["source_url"] == SOURCE_URL.format(file_name)
    min_version = metadata["homeassistant"]["min_version"]
    assert tuple(int(part) for part in min_version.split(".")) >= MIN_VERSION
    for text in (metadata["name"], metadata["description"]):
        assert HAN.search(text), "Chinese is missing"
        assert LATIN.search(text), "English is missing"
    sections = metadata["input"]
    assert sections
    for key, section in sections.items():
        assert "input" in section, f"input {key} is not in a section"
        assert section["name"]
        assert section["icon"].startswith("mdi:")
        for name, field in section["input"].items():
            assert field["name"], f"input {name} has no name"
            assert "selector" in field, f"input {name} has no selector"


def assert_filtered_to(blueprint: Blueprint, name: str, **expected: Any) -> None:
    """Check that an input's entity or device selector offers only what it should."""
    ((_kind, selector),) = blueprint.inputs[name]["selector"].items()
    filters = selector["filter"]
    for entity_filter in filters:
        for key, value in expected.items():
            # The schema turns a domain into a list of one.
            found = entity_filter[key]
            assert found in (value, [value]), f"{name}: {key} is {found}"


async def async_create_automation(
    hass: HomeAssistant, file_name: str, inputs: Mapping[str, Any]
) -> str:
    """Make an automation from a blueprint, check it is on, return its entity ID.

    It sets the automation integration up, so it makes one automation per test.
    """
    path = await async_install_blueprint(hass, file_name)
    name = Path(file_name).stem
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": name,
                "alias": name,
                "use_blueprint": {"path": path, "input": dict(inputs)},
            }
        },
    )
    await hass.async_block_till_done()
    entity_id = f"automation.{name}"
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == "on", f"{file_name} did not set up: {state.attributes}"
    return entity_id


def add_community(hass: HomeAssistant) -> MockConfigEntry:
    """Add a community entry (not set up) for entities to belong to."""
    entry = MockConfigEntry(domain=DOMAIN, title=COMMUNITY_NAME)
    entry.add_to_hass(hass)
    return entry


def add_device(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    name: str,
    *,
    via_device_id: str | None = None,
) -> str:
    """Add a device of the integration (below another, if given) and return its ID."""
    return (
        dr.async_get(hass)
        .async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(entry.domain, slugify(name))},
            name=name,
            via_device_id=via_device_id,
        )
        .id
    )


def add_entity(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    entity_id: str,
    state: str,
    *,
    device_id: str | None = None,
    **attributes: Any,
) -> str:
    """Register an entity of the integration under its ID and give it a state."""
    domain, object_id = entity_id.split(".", 1)
    registered = er.async_get(hass).async_get_or_create(
        domain,
        entry.domain,
        object_id,
        suggested_object_id=object_id,
        config_entry=entry,
        device_id=device_id,
    )
    assert registered.entity_id == entity_id
    hass.states.async_set(entity_id, state, attributes)
    return entity_id


@dataclass(frozen=True)
class Phone:
    """A phone with the Home Assistant app and what it was sent."""

    device_id: str
    notify_action: str
    notifications: list[ServiceCall]


def add_phone(hass: HomeAssistant, name: str) -> Phone:
    """Register a mobile_app phone and record its notify action, as the app names it."""
    entry = MockConfigEntry(domain=MOBILE_APP, title=name)
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(MOBILE_APP, slugify(name))},
        name=name,
    )
    service = slugify(f"{MOBILE_APP}_{name}")
    calls = async_mock_service(hass, "notify", service)
    return Phone(device.id, f"notify.{service}", calls)


def mock_actions(hass: HomeAssistant, *actions: str) -> dict[str, list[ServiceCall]]:
    """Record calls of actions such as "cover.open_cover", keyed by action.

    The integration's own actions check their data with the integration's schemas,
    so a blueprint that sends a field wrongly fails here as it would for real.
    """
    recorded = {}
    for action in actions:
        domain, service = action.split(".", 1)
        schema: Callable[[Any], Any] = cv.make_entity_service_schema({})
        if domain == DOMAIN and service not in ENTITY_ACTIONS:
            schema = SCHEMAS[service]
        recorded[action] = async_mock_service(hass, domain, service, schema=schema)
    return recorded


def data_without(call: ServiceCall, *keys: str) -> dict[str, Any]:
    """Return the data an action was called with, leaving out some keys."""
    return {key: value for key, value in call.data.items() if key not in keys}


async def async_set_state(
    hass: HomeAssistant, entity_id: str, state: str, **attributes: Any
) -> None:
    """Write an entity's state and let the automations react to it."""
    hass.states.async_set(entity_id, state, attributes)
    await async_settle(hass)


async def async_fire_event_entity(
    hass: HomeAssistant, entity_id: str, event_type: str, **attributes: Any
) -> None:
    """Write an event entity's state as it is when it fires, and let automations react.

    The state is the time of the event, so move the clock on between two events.
    """
    previous = hass.states.get(entity_id)
    known = {} if previous is None else previous.attributes
    event_types = known.get("event_types", [event_type])
    await async_set_state(
        hass,
        entity_id,
        dt_util.utcnow().isoformat(timespec="milliseconds"),
        event_types=event_types,
        event_type=event_type,
        **attributes,
    )


async def async_settle(hass: HomeAssistant) -> None:
    """Run everything that is ready to run; automations may stay waiting.

    ``hass.async_block_till_done`` would wait for an automation that waits for a
    state, a timeout or an answer, so it would never return here. Nothing in these
    tests does I/O, so the loop is settled once a turn leaves nothing ready to run.
    """
    for _ in range(SETTLE_TURNS):
        await asyncio.sleep(0)
        if not hass.loop._ready:  # type: ignore[attr-defined]
            return
    raise AssertionError("the event loop kept busy")


async def async_settle_until(
    hass: HomeAssistant,
    check: Callable[[], bool | Awaitable[bool]],
    seconds: float,
) -> None:
    """Let Home Assistant and the simulator work until a check holds.

    For tests against simulated devices, whose answers take real time; the
    check may ask the simulator (a coroutine) or read Home Assistant.
    """
    async with asyncio.timeout(seconds):
        while True:
            outcome = check()
            if not isinstance(outcome, bool):
                outcome = await outcome
            if outcome:
                return
            await asyncio.sleep(0.05)
            await async_settle(hass)


async def async_turn_off_automations(hass: HomeAssistant) -> None:
    """Turn every automation off, so that no wait or cooldown outlives the test."""
    if hass.services.has_service("automation", "turn_off"):
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "all"}, blocking=True
        )


async def async_advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta
) -> None:
    """Move the clock on and let everything due by then run."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await async_settle(hass)
