"""Diagnostics of a community, with everything personal redacted."""

import dataclasses
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .community.community import Community
from .community.fire import FirePanel
from .const import CONF_ALLOWED_SOURCES, CONF_PUSH_SECRET, CONF_STREAM_URL
from .protocols.gb26875 import ServerStats
from .recognition import camera_diagnostics
from .runtime import SmartCommunityConfigEntry

# Names, phone numbers, plates and notify targets identify people; credentials,
# card numbers (a charging pile or door takes the number alone) and addresses of
# devices open doors.
TO_REDACT = {
    CONF_HOST,
    CONF_STREAM_URL,
    CONF_PASSWORD,
    CONF_USERNAME,
    "name",
    "phone",
    "plate",
    "plates",
    "card",
    "id_tag",
    "notify_targets",
    "visitor_name",
    "label",
    "reason",
    # A wearable's address follows its wearer; a detail names a door or a tag.
    "ble_tag",
    "ble_button",
    "detail",
    CONF_PUSH_SECRET,
    CONF_ALLOWED_SOURCES,
}
# Enough residents to see the shape of the data without dumping thousands.
SAMPLE_SIZE = 20


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SmartCommunityConfigEntry
) -> dict[str, Any]:
    """Describe the community entry, its buildings and its registry."""
    community = entry.runtime_data
    registry = community.registry
    occupancy = community.occupancy()
    stored = registry.to_dict()
    tags: dict[str, int] = {}
    for resident in registry.residents:
        for tag in resident.tags:
            tags[tag] = tags.get(tag, 0) + 1
    return {
        "entry": {
            "title": entry.title,
            "version": f"{entry.version}.{entry.minor_version}",
            "data": dict(entry.data),
        },
        "subentries": [
            {
                "subentry_type": subentry.subentry_type,
                "unique_id": subentry.unique_id,
                "data": async_redact_data(dict(subentry.data), TO_REDACT),
            }
            for subentry in entry.subentries.values()
        ],
        "counts": {
            "residents": occupancy.residents,
            "households": occupancy.households,
            "elderly_living_alone": occupancy.elderly_living_alone,
            "vehicles": len(registry.vehicles),
            "cards": len(registry.cards),
            "visitor_passes": len(registry.visitor_passes),
            "active_visitor_passes": len(
                registry.active_visitor_passes(dt_util.utcnow())
            ),
            "blocked_plates": len(registry.blocked_plates),
        },
        "lanes": {
            lane.config.name: {
                "connected": lane.connected,
                "pushes": lane.pushes,
                "rejected_pushes": lane.rejected_pushes,
                "open_command": lane.open_command,
                "last_io": {"source": io.source, "value": io.value}
                if (io := lane.last_io) is not None
                else None,
                "camera": async_redact_data(
                    {
                        "serial_number": heartbeat.camera.serial_number,
                        "device_name": heartbeat.camera.device_name,
                        "ip_address": heartbeat.camera.ip_address,
                    },
                    {"ip_address"},
                )
                if (heartbeat := lane.last_heartbeat) is not None
                else None,
            }
            for lane in community.lanes.values()
        },
        "parking_lots": {
            lot.name: {
                "capacity": lot.capacity,
                "vehicles_inside": lot.vehicles_inside,
            }
            for lot in community.parking_lots.values()
        },
        "power_meters": {
            meter.name: {
                "register_map": meter.register_map.name,
                "available": meter.available,
                "problem": meter.problem,
                "error": meter.error,
                "polls": meter.polls,
                "failures": meter.failures,
                "requests_per_poll": meter.requests,
                "values": {str(key): value for key, value in meter.values.items()},
            }
            for meter in community.meters.values()
        },
        "fire_centres": {
            str(port): {
                "listening": centre.server is not None,
                "problems": {str(key): count for key, count in centre.problems.items()},
                "last_problem": centre.last_problem,
                "server": _server_stats(centre.server.stats)
                if centre.server is not None
                else None,
            }
            for port, centre in community.fire_centres.items()
        },
        "fire_panels": {
            panel.name: _fire_panel(panel) for panel in community.fire_panels.values()
        },
        "broadcast_zones": _broadcast_zones(community),
        "charging": _charging(community),
        "recognition": camera_diagnostics(community),
        "activity": _activity(community),
        "tags": tags,
        "sample": async_redact_data(
            {
                key: value[:SAMPLE_SIZE] if isinstance(value, list) else value
                for key, value in stored.items()
            },
            TO_REDACT,
        ),
    }


def _fire_panel(panel: FirePanel) -> dict[str, Any]:
    """Describe a transmission device and a sample of its components."""
    return {
        "connected": panel.connected,
        "frames": panel.frames,
        "last_frame": panel.last_frame.isoformat() if panel.last_frame else None,
        "transmitter_state": None
        if panel.transmitter_state is None
        else str(panel.transmitter_state),
        "components": len(panel.components),
        "fire_alarms": panel.fire_alarms,
        "faults": panel.faults,
        "sample": [
            component.as_dict()
            for component in list(panel.components.values())[:SAMPLE_SIZE]
        ],
    }


def _server_stats(stats: ServerStats) -> dict[str, Any]:
    """Describe what a fire centre's server has counted."""
    return {
        "frames": stats.frames,
        "acknowledged": stats.acknowledged,
        "duplicates": stats.duplicates,
        "connections_total": stats.connections_total,
        "open_connections": stats.open_connections,
        "problems": {str(problem): count for problem, count in stats.problems.items()},
    }


def _broadcast_zones(community: Community) -> dict[str, Any]:
    """Describe each broadcast zone and what plays in it."""
    if (broadcaster := community.broadcaster) is None:
        return {}
    playing = broadcaster.announcer.playing()
    return {
        zone.name: {
            "codec": str(zone.codec),
            "port": zone.port,
            "volume": zone.volume,
            "muted": zone.muted,
            "chime": zone.chime,
            "playing": None
            if (priority := playing.get(zone.zone_id)) is None
            else priority.name.lower(),
        }
        for zone in broadcaster.zones.values()
    }


def _charging(community: Community) -> dict[str, Any]:
    """Describe the central system, each station and its ports' sessions."""
    if (centre := community.charging) is None:
        return {}
    return {
        "problems": {str(key): count for key, count in centre.problems.items()},
        "servers": {
            str(port): {
                "connections_total": server.stats.connections_total,
                "open_connections": server.stats.open_connections,
                "frames": server.stats.frames,
                "refused_unknown": server.stats.refused_unknown,
                "refused_unauthorized": server.stats.refused_unauthorized,
            }
            for port, server in centre.servers.items()
        },
        "stations": {
            station.name: async_redact_data(
                {
                    "charge_point_id": station.charge_point_id,
                    "building": station.building,
                    "connected": station.connected,
                    "password_set": station.password is not None,
                    "blocked": station.blocked,
                    "status": station.status,
                    "error_code": station.error_code,
                    "last_seen": None
                    if station.last_seen is None
                    else station.last_seen.isoformat(),
                    "policy": dataclasses.asdict(station.policy),
                    "boot": None if station.boot is None else station.boot.to_dict(),
                    "ports": {
                        str(number): {
                            "status": port.status,
                            "error_code": port.error_code,
                            "power_w": port.power_w,
                            "temperature_c": port.temperature_c,
                            **port.to_dict(),
                        }
                        for number, port in station.ports.items()
                    },
                },
                TO_REDACT,
            )
            for station in centre.stations.values()
        },
    }


def _activity(community: Community) -> dict[str, Any]:
    """Describe the watched residents' links and activity, wearables redacted."""
    log = community.activity
    now = dt_util.utcnow()
    return {
        "watched": len(log.watched),
        "inactive": sum(log.is_inactive(resident, now) for resident in log.watched),
        "log": async_redact_data(log.to_dict(), TO_REDACT),
    }
