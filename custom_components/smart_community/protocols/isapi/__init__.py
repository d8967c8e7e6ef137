"""Talk to Hikvision access terminals over ISAPI, without Home Assistant.

One module, one job: ``client`` (requests, the alert stream), ``digest``
(RFC 7616 answers), ``payloads`` (bodies, ResponseStatus, lockout), ``models``
(typed records, event codes), ``stream`` (the multipart parser),
``subscription`` (exactly-once delivery across reconnects), ``errors``.
"""

from .client import AlertStream, IsapiClient
from .errors import (
    IsapiAlreadyExistsError,
    IsapiAuthError,
    IsapiCapacityError,
    IsapiConnectionError,
    IsapiConnectionTimeoutError,
    IsapiError,
    IsapiFaceRejectedError,
    IsapiInvalidResponseError,
    IsapiLockedError,
    IsapiNotFoundError,
    IsapiNotSupportedError,
    IsapiResponseError,
    IsapiStreamBusyError,
    IsapiStreamClosedError,
)
from .models import (
    EVENT_KINDS,
    AccessEvent,
    ContactState,
    DeviceInfo,
    DoorCommand,
    DoorMode,
    DoorStatus,
    EventKind,
    LockState,
    Person,
    event_kind,
)
from .stream import MultipartParser, ParsedPart, RawPart, parse_alert_stream
from .subscription import EventCallback, EventSubscription

__all__ = [
    "EVENT_KINDS",
    "AccessEvent",
    "AlertStream",
    "ContactState",
    "DeviceInfo",
    "DoorCommand",
    "DoorMode",
    "DoorStatus",
    "EventCallback",
    "EventKind",
    "EventSubscription",
    "IsapiAlreadyExistsError",
    "IsapiAuthError",
    "IsapiCapacityError",
    "IsapiClient",
    "IsapiConnectionError",
    "IsapiConnectionTimeoutError",
    "IsapiError",
    "IsapiFaceRejectedError",
    "IsapiInvalidResponseError",
    "IsapiLockedError",
    "IsapiNotFoundError",
    "IsapiNotSupportedError",
    "IsapiResponseError",
    "IsapiStreamBusyError",
    "IsapiStreamClosedError",
    "LockState",
    "MultipartParser",
    "ParsedPart",
    "Person",
    "RawPart",
    "event_kind",
    "parse_alert_stream",
]
