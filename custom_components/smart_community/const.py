"""Constants of the Smart Community integration."""

import logging
from typing import Final

DOMAIN: Final = "smart_community"
LOGGER = logging.getLogger(__package__)

CONF_BUILDING_ID: Final = "building_id"

SUBENTRY_TYPE_BUILDING: Final = "building"

# Saving the registry is debounced: a burst of service calls becomes one write.
SAVE_DELAY_SECONDS: Final = 1.0
# After a failed write (a full disk, a read-only folder) the next attempt waits this long.
SAVE_RETRY_SECONDS: Final = 60.0

SUBENTRY_TYPE_FACE_TERMINAL: Final = "face_terminal"
CONF_DOORS: Final = "doors"
CONF_BUILDING: Final = "building"
CONF_SUBENTRY_ID: Final = "subentry_id"
# Saving where each terminal's event log was read up to, after a burst of events.
CURSOR_SAVE_DELAY_SECONDS: Final = 5.0

SUBENTRY_TYPE_PLATE_CAMERA: Final = "plate_camera"
SUBENTRY_TYPE_PARKING_LOT: Final = "parking_lot"
CONF_DIRECTION: Final = "direction"
CONF_PARKING_LOT: Final = "parking_lot"
CONF_CAPACITY: Final = "capacity"
CONF_UNKNOWN_VEHICLES: Final = "unknown_vehicles"
CONF_VISITORS_ALLOWED: Final = "visitors_allowed"
CONF_TOLERANCE: Final = "tolerance"
CONF_RELAY_OUTPUT: Final = "relay_output"
CONF_VOICE: Final = "voice"
CONF_DISPLAY: Final = "display"
CONF_ALLOWED_SOURCES: Final = "allowed_sources"
CONF_COMET_HOLD: Final = "comet_hold_seconds"
CONF_PUSH_SECRET: Final = "push_secret"
# Reconfigure a lane with a new secret; the old push address stops working.
CONF_NEW_PUSH_URL: Final = "new_push_url"
CONF_TEXTS: Final = "texts"
# The lane's answers, each with {plate}; blank means the default wording.
TEXT_KEYS: Final = ("resident_text", "visitor_text", "denied_text", "blocked_text")
RELAY_NONE: Final = "none"
# Counting a car park is saved shortly after it changes.
PARKING_SAVE_DELAY_SECONDS: Final = 2.0

SUBENTRY_TYPE_POWER_METER: Final = "power_meter"
CONF_UNIT_ID: Final = "unit_id"
CONF_REGISTER_MAP: Final = "register_map"
# A meter described as data, used when the register map is "custom".
CONF_CUSTOM_MAP: Final = "custom_register_map"
REGISTER_MAP_CUSTOM: Final = "custom"
CONF_POLL_INTERVAL: Final = "poll_interval"

SUBENTRY_TYPE_FIRE_PANEL: Final = "fire_panel"
CONF_TRANSMITTER_ADDRESS: Final = "transmitter_address"
CONF_CHECKSUM: Final = "checksum"
# Where the monitoring centre listens unless the installer says otherwise.
DEFAULT_FIRE_PORT: Final = 9500
# Transmission devices send a heartbeat at least every minute or two; a connection
# silent for this long is dead even if TCP has not noticed.
FIRE_IDLE_TIMEOUT_SECONDS: Final = 300.0
# Components' states are saved shortly after a burst of reports.
FIRE_SAVE_DELAY_SECONDS: Final = 10.0

SUBENTRY_TYPE_SPEAKER_ZONE: Final = "speaker_zone"
CONF_CODEC: Final = "codec"
CONF_TTL: Final = "ttl"
CONF_CHIME: Final = "chime"
# Algo's default paging zones start here; many speakers follow it.
DEFAULT_PAGING_PORT: Final = 50000
DEFAULT_MULTICAST_TTL: Final = 16

# E-bike charging stations: OCPP 1.6J, Home Assistant is the central system.
SUBENTRY_TYPE_CHARGING_STATION: Final = "charging_station"
CONF_CHARGE_POINT_ID: Final = "charge_point_id"
CONF_PORT_COUNT: Final = "port_count"
CONF_FULL_POWER: Final = "full_power_w"
CONF_FULL_MINUTES: Final = "full_minutes"
CONF_MAX_DURATION: Final = "max_duration_hours"
CONF_MAX_TEMPERATURE: Final = "max_temperature_c"
CONF_MAX_POWER: Final = "max_power_w"
DEFAULT_OCPP_PORT: Final = 9000
DEFAULT_PORT_COUNT: Final = 10
# Sessions are judged by the clock this often, besides on every reading.
CHARGING_CHECK_SECONDS: Final = 10.0
CHARGING_SAVE_DELAY_SECONDS: Final = 5.0

# Recognising cameras (faces, plates, e-bikes) on the machine itself.
SUBENTRY_TYPE_CAMERA: Final = "camera"
CONF_STREAM_URL: Final = "stream_url"
CONF_ROLE: Final = "role"
# "lane:<subentry id>" or "door:<subentry id>:<door number>".
CONF_LINK: Final = "link"
CONF_ANALYSIS_RATE: Final = "analysis_rate"
CONF_MODELS_FOLDER: Final = "models_folder"
CONF_DISTANT_FACES: Final = "distant_faces"
DEFAULT_ANALYSIS_RATE: Final = 2.0
# The recognition runtime; not in the manifest, as it has no musl wheels.
RECOGNITION_REQUIREMENT: Final = "ai-edge-litert==2.3.0"
GALLERY_SAVE_DELAY_SECONDS: Final = 5.0
