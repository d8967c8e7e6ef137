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
