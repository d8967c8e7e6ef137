"""Keep every face terminal's persons and faces in step with the residents registry."""

import asyncio
from contextlib import suppress

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .community.enrolment import (
    STORAGE_VERSION,
    EnrolmentPlanner,
    EnrolmentQueue,
    EnrolmentWorker,
    InvalidEnrolmentDataError,
)
from .community.terminals import TerminalHub
from .const import DOMAIN, LOGGER
from .faces import FaceStore
from .protocols.isapi import IsapiAuthError, IsapiError, IsapiLockedError
from .runtime import SmartCommunityConfigEntry

# Progress is written after a quiet moment: a mass enrolment changes the queue
# once per person.
QUEUE_SAVE_DELAY_SECONDS = 2.0
# After a terminal could not be listed for a resync, try again this much later.
RESYNC_RETRY_SECONDS = 30.0


async def async_start_enrolment(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> None:
    """Load the enrolment queue and keep each terminal in step in the background."""
    community = entry.runtime_data
    store: Store[dict[str, object]] = Store(
        hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}.enrolment", private=True
    )
    data = await store.async_load()
    try:
        queue = EnrolmentQueue.from_dict(data) if data else EnrolmentQueue()
    except InvalidEnrolmentDataError as err:
        # The queue is rebuilt by the resync of every terminal below.
        LOGGER.warning("Starting the face enrolment queue afresh: %s", err)
        queue = EnrolmentQueue()
    for gone in set(queue.terminal_ids) - set(community.terminals):
        queue.forget_terminal(gone)
    planner = EnrolmentPlanner(
        community.registry,
        queue,
        {
            terminal_id: hub.config.building_id
            for terminal_id, hub in community.terminals.items()
        },
        clock=dt_util.utcnow,
    )
    worker = EnrolmentWorker(planner)
    faces = FaceStore(hass, entry.entry_id)
    community.enrolment, community.enrolment_worker, community.faces = (
        planner,
        worker,
        faces,
    )
    entry.async_on_unload(planner.close)
    entry.async_on_unload(community.employee_numbers.close)

    wakeups = {terminal_id: asyncio.Event() for terminal_id in community.terminals}

    @callback
    def queue_changed() -> None:
        store.async_delay_save(queue.to_dict, QUEUE_SAVE_DELAY_SECONDS)
        for wakeup in wakeups.values():
            wakeup.set()

    entry.async_on_unload(queue.add_listener(queue_changed))

    async def async_save_now() -> None:
        await store.async_save(queue.to_dict())

    entry.async_on_unload(async_save_now)

    for terminal_id, hub in community.terminals.items():
        entry.async_create_background_task(
            hass,
            _async_keep_in_step(
                terminal_id, hub, queue, worker, faces, wakeups[terminal_id]
            ),
            f"smart_community enrolment {hub.config.name}",
        )


async def _async_keep_in_step(
    terminal_id: str,
    hub: TerminalHub,
    queue: EnrolmentQueue,
    worker: EnrolmentWorker,
    faces: FaceStore,
    wakeup: asyncio.Event,
) -> None:
    """Resync a terminal on first contact, then send its due changes as they come."""
    online = asyncio.Event()

    @callback
    def hub_changed() -> None:
        if hub.available and not online.is_set():
            # Back after an outage: what failed while it was away is due now.
            queue.retry_now(terminal_id, dt_util.utcnow())
            online.set()
        elif not hub.available:
            online.clear()

    remove_listener = hub.add_state_listener(hub_changed)
    if hub.available:
        online.set()
    resynced = False
    try:
        while True:
            await online.wait()
            wakeup.clear()
            try:
                if not resynced:
                    await worker.resync(terminal_id, hub.client, dt_util.utcnow())
                    resynced = True
                await worker.run_once(terminal_id, hub.client, faces, dt_util.utcnow())
            except IsapiAuthError, IsapiLockedError:
                # The event stream meets the same refusal and asks for new
                # credentials; the queue holds the terminal meanwhile.
                online.clear()
                continue
            except IsapiError as err:
                LOGGER.debug("Enrolment on %s paused: %s", hub.config.name, err)
                await asyncio.sleep(RESYNC_RETRY_SECONDS)
                continue
            due = worker.next_due(terminal_id)
            wait = None if due is None else (due - dt_util.utcnow()).total_seconds()
            if wait is not None and wait <= 0:
                continue
            with suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await wakeup.wait()
    finally:
        remove_listener()
