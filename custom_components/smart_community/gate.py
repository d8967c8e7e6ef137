"""Gate lanes in Home Assistant: the push endpoint, the lanes and the car park counts.

LPR cameras push to ``/api/smart_community/plate_push/<secret>``; the secret
names the lane (one per plate camera subentry), so no login is needed and a
camera's address is not trusted on its own. The reply to each request carries
the decision back to the camera.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
import ipaddress
from typing import Any, Final

from aiohttp import hdrs, web
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.hass_dict import HassKey

from .community.access import (
    AccessDecider,
    Direction,
    LanePolicy,
    LaneTexts,
    UnknownVehiclePolicy,
)
from .community.errors import InvalidStoredDataError
from .community.gates import GateLane, LaneConfig
from .community.parking import PARKING_STORAGE_VERSION, ParkingLot
from .const import (
    CONF_ALLOWED_SOURCES,
    CONF_CAPACITY,
    CONF_COMET_HOLD,
    CONF_DIRECTION,
    CONF_DISPLAY,
    CONF_PARKING_LOT,
    CONF_PUSH_SECRET,
    CONF_RELAY_OUTPUT,
    CONF_TOLERANCE,
    CONF_UNKNOWN_VEHICLES,
    CONF_VISITORS_ALLOWED,
    CONF_VOICE,
    DOMAIN,
    LOGGER,
    PARKING_SAVE_DELAY_SECONDS,
    RELAY_NONE,
    SUBENTRY_TYPE_PARKING_LOT,
    SUBENTRY_TYPE_PLATE_CAMERA,
    TEXT_KEYS,
)
from .protocols.plate_push import (
    DEFAULT_MAX_BODY_BYTES,
    Heartbeat,
    IoInput,
    MalformedPushError,
    PlateRead,
    PlateReply,
    PushMessage,
    PushTooLargeError,
    RelayPulse,
    encode_reply,
    parse_push,
)
from .runtime import SmartCommunityConfigEntry

PUSH_PATH: Final = "/api/smart_community/plate_push"
# Pushes with a plate close-up parse in well under a millisecond, so they are
# parsed on the event loop; larger ones (a full-size image) go to a worker thread.
INLINE_PARSE_BYTES: Final = 256 * 1024
# Remote addresses already logged for an unknown secret; more are not remembered,
# so a scanner cannot fill the memory or the log.
MAX_LOGGED_STRANGERS: Final = 64

type Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(slots=True)
class LaneEndpoint:
    """What the push view needs to serve one lane."""

    lane: GateLane
    allowed_sources: tuple[Network, ...] = ()
    max_bytes: int = DEFAULT_MAX_BODY_BYTES
    # What was last logged about bad requests, so each problem is logged once.
    logged_problem: str | None = None
    logged_refusals: set[str] = field(default_factory=set)


@dataclass(slots=True)
class PushEndpoints:
    """Every lane of every community, by the secret in its push URL."""

    lanes: dict[str, LaneEndpoint] = field(default_factory=dict)
    logged_strangers: set[str] = field(default_factory=set)


PUSH_ENDPOINTS: HassKey[PushEndpoints] = HassKey(f"{DOMAIN}_push_endpoints")


def push_url_path(secret: str) -> str:
    """Return the path a camera pushes to."""
    return f"{PUSH_PATH}/{secret}"


def parse_sources(text: str | Iterable[str]) -> tuple[Network, ...]:
    """Read addresses and networks (192.168.1.20, 10.0.5.0/24); raise ValueError."""
    items = text.replace(",", " ").split() if isinstance(text, str) else text
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items)


def lane_config(subentry: ConfigSubentry) -> LaneConfig:
    """Read a lane's configuration from its plate camera subentry."""
    data = subentry.data
    direction = Direction(data[CONF_DIRECTION])
    defaults = LaneTexts.defaults(direction)
    texts = LaneTexts(
        *(
            data.get(key) or getattr(defaults, key.removesuffix("_text"))
            for key in TEXT_KEYS
        )
    )
    relay_output = data[CONF_RELAY_OUTPUT]
    return LaneConfig(
        lane_id=subentry.subentry_id,
        name=subentry.title,
        policy=LanePolicy(
            direction=direction,
            unknown_vehicles=UnknownVehiclePolicy(data[CONF_UNKNOWN_VEHICLES]),
            visitors_allowed=data[CONF_VISITORS_ALLOWED],
            tolerance=int(data[CONF_TOLERANCE]),
            texts=texts,
        ),
        lot_id=data.get(CONF_PARKING_LOT),
        relay=None if relay_output == RELAY_NONE else RelayPulse(io=int(relay_output)),
        voice=data[CONF_VOICE],
        display=data[CONF_DISPLAY],
        comet_hold_seconds=float(data[CONF_COMET_HOLD]),
    )


class ParkingStore:
    """Keep the car parks' counts across restarts."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the store of one community."""
        self._store: Store[dict[str, Any]] = Store(
            hass, PARKING_STORAGE_VERSION, f"{DOMAIN}.{entry_id}.parking"
        )
        self._lots: dict[str, ParkingLot] = {}

    async def async_load(self, lots: dict[str, ParkingLot]) -> None:
        """Restore each lot's count; a damaged count is logged and starts empty."""
        self._lots = lots
        stored = await self._store.async_load() or {}
        for lot_id, lot in lots.items():
            if (data := stored.get(lot_id)) is None:
                continue
            try:
                lot.restore(data)
            except InvalidStoredDataError as err:
                LOGGER.error("%s; counting it from empty", err)

    @callback
    def async_schedule_save(self) -> None:
        """Save the counts after a short delay."""
        self._store.async_delay_save(self._data, PARKING_SAVE_DELAY_SECONDS)

    def _data(self) -> dict[str, Any]:
        """Describe every lot's count."""
        return {lot_id: lot.to_dict() for lot_id, lot in self._lots.items()}

    async def async_save_now(self) -> None:
        """Write the counts at once (the community is unloading)."""
        await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Delete the counts of a removed community."""
        await self._store.async_remove()


async def async_start_lanes(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> None:
    """Create the car parks and lanes of a community and open their endpoints."""
    community = entry.runtime_data
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_PARKING_LOT):
        community.parking_lots[subentry.subentry_id] = ParkingLot(
            subentry.subentry_id, subentry.title, int(subentry.data[CONF_CAPACITY])
        )
    store = ParkingStore(hass, entry.entry_id)
    await store.async_load(community.parking_lots)
    for lot in community.parking_lots.values():
        entry.async_on_unload(lot.add_listener(store.async_schedule_save))
    entry.async_on_unload(store.async_save_now)

    endpoints = _async_push_endpoints(hass)
    decider = AccessDecider(community.registry)
    for subentry in entry.get_subentries_of_type(SUBENTRY_TYPE_PLATE_CAMERA):
        config = lane_config(subentry)
        lane = GateLane(
            config,
            decider,
            community.parking_lots.get(config.lot_id) if config.lot_id else None,
        )
        community.lanes[subentry.subentry_id] = lane
        secret = subentry.data[CONF_PUSH_SECRET]
        endpoints.lanes[secret] = LaneEndpoint(
            lane, parse_sources(subentry.data.get(CONF_ALLOWED_SOURCES, ()))
        )
        entry.async_on_unload(_closer(endpoints, secret, lane))


def _closer(
    endpoints: PushEndpoints, secret: str, lane: GateLane
) -> Callable[[], None]:
    """Return what closes a lane's endpoint when its community unloads."""

    @callback
    def close() -> None:
        endpoints.lanes.pop(secret, None)
        lane.close()

    return close


@callback
def _async_push_endpoints(hass: HomeAssistant) -> PushEndpoints:
    """Return the lanes' endpoints, registering the push view the first time."""
    if (endpoints := hass.data.get(PUSH_ENDPOINTS)) is None:
        endpoints = hass.data[PUSH_ENDPOINTS] = PushEndpoints()
        hass.http.register_view(PlatePushView(endpoints))
    return endpoints


async def _read_body(request: web.Request, limit: int) -> bytes | None:
    """Read a request body up to a limit; None when it is longer."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class PlatePushView(HomeAssistantView):
    """Receive what LPR cameras push and answer with the lane's commands."""

    url = PUSH_PATH + "/{secret}"
    name = "api:smart_community:plate_push"
    # Cameras cannot log in; the secret in the URL is the credential.
    requires_auth = False

    def __init__(self, endpoints: PushEndpoints) -> None:
        """Serve the given endpoints."""
        self._endpoints = endpoints

    async def post(self, request: web.Request, secret: str) -> web.Response:
        """Handle one push or heartbeat from a camera."""
        remote = request.remote or "unknown"
        endpoint = self._endpoints.lanes.get(secret)
        if endpoint is None:
            strangers = self._endpoints.logged_strangers
            if remote not in strangers and len(strangers) < MAX_LOGGED_STRANGERS:
                strangers.add(remote)
                LOGGER.warning(
                    "A plate push from %s used an unknown URL; check the HTTP push "
                    "address set in that camera",
                    remote,
                )
            return web.Response(status=404)
        lane = endpoint.lane
        if endpoint.allowed_sources and not _allowed(remote, endpoint.allowed_sources):
            if remote not in endpoint.logged_refusals:
                endpoint.logged_refusals.add(remote)
                LOGGER.warning(
                    "Refused a plate push for lane %s from %s, which is not in the "
                    "lane's allowed addresses",
                    lane.config.name,
                    remote,
                )
            return web.Response(status=403)
        body = await _read_body(request, endpoint.max_bytes)
        if body is None:
            too_large = PushTooLargeError(
                request.content_length or endpoint.max_bytes + 1, endpoint.max_bytes
            )
            self._refuse(endpoint, remote, str(too_large))
            return web.Response(status=413, text=str(too_large))
        parse = partial(
            parse_push,
            body,
            request.headers.get(hdrs.CONTENT_TYPE),
            max_bytes=endpoint.max_bytes,
        )
        try:
            if len(body) > INLINE_PARSE_BYTES:
                message = await request.app[KEY_HASS].async_add_executor_job(parse)
            else:
                message = parse()
        except PushTooLargeError as err:
            self._refuse(endpoint, remote, str(err))
            return web.Response(status=413, text=str(err))
        except MalformedPushError as err:
            self._refuse(endpoint, remote, str(err))
            return web.Response(status=400, text=str(err))
        endpoint.logged_problem = None
        reply = await self._answer(lane, message)
        return web.Response(body=encode_reply(reply), content_type="application/json")

    async def _answer(self, lane: GateLane, message: PushMessage) -> PlateReply:
        """Pass a message to its lane and return the reply for the camera."""
        match message:
            case PlateRead():
                return lane.handle_plate(message, dt_util.utcnow())
            case Heartbeat():
                lane.handle_heartbeat(message)
                # A comet poll: hold it, so a manual open is answered at once.
                await lane.wait_for_command(lane.config.comet_hold_seconds)
                return lane.take_command()
            case IoInput():
                lane.handle_io(message)
        # Cameras act only on replies to plate pushes and heartbeats.
        return PlateReply()

    @staticmethod
    def _refuse(endpoint: LaneEndpoint, remote: str, problem: str) -> None:
        """Count a bad request; log it unless it repeats the last one."""
        lane = endpoint.lane
        lane.rejected_pushes += 1
        if endpoint.logged_problem != problem:
            endpoint.logged_problem = problem
            LOGGER.warning(
                "Rejected a push from the camera of lane %s (%s): %s",
                lane.config.name,
                remote,
                problem,
            )


def _allowed(remote: str, sources: tuple[Network, ...]) -> bool:
    """Tell whether an address is in one of the allowed networks."""
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    return any(address in network for network in sources)
