"""Set up the demo's eldercare: a watched resident, two phones and the blueprint.

The first elderly resident living alone is watched with a short quiet period. The
simulator's two phones register with Home Assistant as the companion app does, and
an automation made from the eldercare_inactivity blueprint asks the elder's phone
and the grid worker's after a few minutes without activity, then escalates.
"""

import asyncio
import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from seed_demo import HomeAssistantClient

DOMAIN: Final = "smart_community"
MOBILE_APP: Final = "mobile_app"
ELDER_PHONE: Final = "phone-elder"
GRID_WORKER_PHONE: Final = "phone-grid-worker"
AUTOMATION_ID: Final = "smart_community_demo_eldercare"
BLUEPRINT: Final = "smart_community/eldercare_inactivity.yaml"
# Short, so that the flow shows within minutes of starting the demo.
QUIET_HOURS: Final = 0.1
WAIT_MINUTES: Final = 2
PHONES_TIMEOUT: Final = 30


class EldercareError(Exception):
    """Say why the demo's eldercare could not be set up."""


def first_elder(residents: Path) -> dict[str, str]:
    """Return the first resident tagged elderly_living_alone in the demo's CSV."""
    with residents.open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if "elderly_living_alone" in row["tags"].split(";"):
                return row
    raise EldercareError("the demo has no elderly resident living alone")


async def register_phones(
    client: HomeAssistantClient, scenario: dict[str, Any]
) -> dict[str, str]:
    """Register the simulated phones afresh; return their mobile_app device IDs.

    The simulator's phones forget their registration when it restarts, so the
    previous run's entries go first, as when an app is reinstalled.
    """
    phones = {
        device["id"]: device["name"]
        for device in scenario["devices"]
        if device["kind"] == "phone"
    }
    names = set(phones.values())
    for entry in await client.request(
        "GET", f"/api/config/config_entries/entry?domain={MOBILE_APP}"
    ):
        if entry["title"] in names:
            await client.request(
                "DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}"
            )
    for phone_id in phones:
        async with client.session.post(
            f"{scenario['control_url']}/devices/{phone_id}/actions/register",
            json={"url": client.url, "token": client.token},
        ) as response:
            if response.status != 200:
                raise EldercareError(
                    f"the simulated phone {phone_id} did not register: "
                    f"{await response.text()}"
                )
    return await _phone_devices(client, phones)


async def _phone_devices(
    client: HomeAssistantClient, phones: dict[str, str]
) -> dict[str, str]:
    """Wait for the phones' devices to appear; map each phone to its device ID."""
    try:
        async with asyncio.timeout(PHONES_TIMEOUT):
            while True:
                devices = await client.websocket(
                    {"type": "config/device_registry/list"}
                )
                by_name = {
                    device["name"]: device["id"]
                    for device in devices
                    if any(ident[0] == MOBILE_APP for ident in device["identifiers"])
                }
                if all(name in by_name for name in phones.values()):
                    return {phone: by_name[name] for phone, name in phones.items()}
                await asyncio.sleep(0.5)
    except TimeoutError as err:
        raise EldercareError(
            f"the phones' devices did not appear within {PHONES_TIMEOUT} s"
        ) from err


async def _render(client: HomeAssistantClient, template: str) -> str:
    """Render a template in Home Assistant (its answer is text)."""
    async with client.session.post(
        f"{client.url}/api/template",
        json={"template": template},
        headers={"Authorization": f"Bearer {client.token}"},
    ) as response:
        if response.status != 200:
            raise EldercareError(f"template failed: {await response.text()}")
        return await response.text()


async def set_up_eldercare(
    client: HomeAssistantClient,
    entry_id: str,
    scenario: dict[str, Any],
    residents: Path,
) -> str:
    """Watch the first elder, register the phones, make the automation; describe it."""
    elder = first_elder(residents)
    await client.request(
        "POST",
        f"/api/services/{DOMAIN}/link_activity_sources",
        {
            "config_entry_id": entry_id,
            "resident_id": elder["resident_id"],
            "inactive_after": {"minutes": round(QUIET_HOURS * 60)},
        },
    )
    # A check-in first, so the quiet period starts with the demo.
    await client.request(
        "POST",
        f"/api/services/{DOMAIN}/record_activity",
        {"config_entry_id": entry_id, "resident_id": elder["resident_id"]},
    )
    last_activity = (
        await _render(
            client,
            "{{ states.sensor | selectattr('attributes.resident_id', 'defined')"
            f" | selectattr('attributes.resident_id', 'eq', '{elder['resident_id']}')"
            " | selectattr('attributes.device_class', 'eq', 'timestamp')"
            " | map(attribute='entity_id') | first | default('') }}",
        )
    ).strip()
    if not last_activity:
        raise EldercareError(f"{elder['name']} has no Last activity sensor")
    # The first speaker zone's player stands for the grid worker's zone (the
    # all-zones player's unique ID ends otherwise).
    zones = [
        entity["entity_id"]
        for entity in await client.websocket({"type": "config/entity_registry/list"})
        if entity["platform"] == DOMAIN
        and entity["entity_id"].startswith("media_player.")
        and entity["unique_id"].endswith("_player")
    ]
    devices = await register_phones(client, scenario)
    await client.request(
        "POST",
        f"/api/config/automation/config/{AUTOMATION_ID}",
        {
            "id": AUTOMATION_ID,
            "alias": f"独居老人无活动关怀 {elder['name']} (demo)",
            "description": "Demo: a short quiet period and wait, all day.",
            "use_blueprint": {
                "path": BLUEPRINT,
                "input": {
                    "last_activity": last_activity,
                    "inactive_hours": QUIET_HOURS,
                    "window_start": "00:00:00",
                    "window_end": "23:59:59",
                    "resident_phone": devices[ELDER_PHONE],
                    "grid_worker_phone": devices[GRID_WORKER_PHONE],
                    "wait_minutes": WAIT_MINUTES,
                    "broadcast_zones": zones[:1],
                },
            },
        },
    )
    return (
        f"eldercare: {elder['name']} ({elder['resident_id']}, "
        f"{elder['building']}-{elder['unit']}-{elder['room']}) is asked after "
        f"{round(QUIET_HOURS * 60)} minutes without activity; escalation after "
        f'{WAIT_MINUTES} more. Answer "I\'m OK": curl -X POST '
        f"{scenario['control_url']}/devices/{ELDER_PHONE}/actions/answer "
        "-d '{\"button\": 0}'"
    )
