"""Read a plate camera's scenario options and ``configure`` parameters."""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
import ipaddress
from typing import Final, Self, cast, override

from yarl import URL

from simulator.devices.isapi.options import OptionReader
from simulator.jsonvalue import JSONObject, JSONValue
from simulator.scenario import DeviceSpec

# The spec caps pictures at 5 MB; a bigger imageFile is a scenario mistake.
MAX_IMAGE_BYTES: Final = 5 * 1024 * 1024
# Longer strings are not plates, whatever the vendor's OCR reads.
MAX_PLATE_LENGTH: Final = 16


class HeartbeatMode(StrEnum):
    """Name how the camera registers with the server (设备注册)."""

    # Poll again as soon as a reply arrives; replies carry commands (comet 轮询).
    COMET = "comet"
    # A heartbeat every heartbeat_seconds; replies are not acted on (普通心跳).
    NORMAL = "normal"
    OFF = "off"


class BodyEncoding(StrEnum):
    """Name the character encoding of the JSON bodies the camera sends."""

    UTF8 = "utf-8"
    # Older firmware and many OEM builds send GBK with an application/json header.
    GBK = "gbk"


@dataclass(frozen=True, slots=True)
class TrafficOptions:
    """Hold the demo traffic: plates the camera sees now and then, unprompted."""

    plates: tuple[str, ...]
    visitor_plates: tuple[str, ...] = ()
    interval_seconds: float = 20.0


@dataclass(frozen=True, slots=True)
class PlateCameraOptions:
    """Hold a plate camera's scenario options, validated, with their defaults."""

    serial_number: str = ""
    device_name: str = "IVS"
    # Only reported in payloads: the simulated camera dials out from loopback.
    ip_address: str = "192.168.1.100"
    lane: str | None = None
    gate: str | None = None
    push_url: str | None = None
    heartbeat_mode: HeartbeatMode = HeartbeatMode.COMET
    # Normal mode: the interval. Comet mode: the pause after a failed poll.
    heartbeat_seconds: float = 5.0
    # Comet mode: a pause between polls so an instant answer is no hot loop.
    comet_min_gap_seconds: float = 0.05
    http_timeout_seconds: float = 10.0
    encoding: BodyEncoding = BodyEncoding.UTF8
    # Say the body's charset in Content-Type (the usual firmware says nothing).
    declare_charset: bool = False
    images: bool = True
    image_bytes: int = 0
    traffic: TrafficOptions | None = None

    @classmethod
    def from_spec(cls, spec: DeviceSpec) -> Self:
        """Read and check the options of ``spec``; raise ``ValueError`` if bad."""
        reader = LprReader(spec.id, spec.options)
        defaults = cls()
        options = cls(
            serial_number=reader.required_text("serial_number"),
            device_name=reader.text("device_name", defaults.device_name),
            ip_address=reader.ip_address("ip_address", defaults.ip_address),
            lane=reader.optional_text("lane"),
            gate=reader.optional_text("gate"),
            push_url=reader.push_url("push_url"),
            heartbeat_mode=reader.heartbeat_mode(
                "heartbeat_mode", defaults.heartbeat_mode
            ),
            heartbeat_seconds=reader.seconds(
                "heartbeat_seconds", defaults.heartbeat_seconds, minimum=0.01
            ),
            comet_min_gap_seconds=reader.seconds(
                "comet_min_gap_seconds", defaults.comet_min_gap_seconds, minimum=0.0
            ),
            http_timeout_seconds=reader.seconds(
                "http_timeout_seconds", defaults.http_timeout_seconds, minimum=0.01
            ),
            encoding=reader.encoding("encoding", defaults.encoding),
            declare_charset=reader.flag("declare_charset", defaults.declare_charset),
            images=reader.flag("images", defaults.images),
            image_bytes=reader.integer(
                "image_bytes",
                defaults.image_bytes,
                minimum=0,
                maximum=MAX_IMAGE_BYTES,
            ),
            traffic=reader.traffic("traffic"),
        )
        reader.reject_unknown()
        return options


class LprReader(OptionReader):
    """Read plate-camera options (or action parameters), naming the bad one."""

    def __init__(
        self,
        device_id: str,
        options: JSONObject,
        *,
        prefix: str = "",
        noun: str = "option",
    ) -> None:
        """Wrap options; ``prefix`` names a nested object, ``noun`` what they are."""
        super().__init__(device_id, options)
        self.prefix = prefix
        self.noun = noun

    @override
    def _fail(self, key: str, expected: str) -> ValueError:
        """Return the error for a bad value, with the nested path of its key."""
        return ValueError(
            f"{self.noun} {self.prefix + key!r} of {self.device_id} must be "
            f"{expected}, not {self.options[key]!r}"
        )

    @override
    def reject_unknown(self) -> None:
        """Refuse keys nobody reads: they are typos or wishes."""
        unknown = sorted(
            key
            for key in self.options
            if key not in self.read and not key.startswith("_")
        )
        if unknown:
            names = ", ".join(self.prefix + key for key in unknown)
            known = ", ".join(sorted(self.prefix + key for key in self.read))
            raise ValueError(
                f"unknown {self.noun}s of {self.device_id}: {names} (known: {known})"
            )

    def required_text(self, key: str) -> str:
        """Return a non-empty string that has no default."""
        if key not in self.options:
            self.read.add(key)
            raise ValueError(
                f"{self.noun} {self.prefix + key!r} of {self.device_id} is required "
                "(a non-empty string)"
            )
        return self.text(key, "")

    def required_integer(self, key: str, *, minimum: int, maximum: int) -> int:
        """Return an integer within bounds that has no default."""
        if key not in self.options:
            self.read.add(key)
            raise ValueError(
                f"{self.noun} {self.prefix + key!r} of {self.device_id} is required "
                f"(an integer {minimum}..{maximum})"
            )
        return self.integer(key, minimum, minimum=minimum, maximum=maximum)

    def code(self, key: str, default: int, allowed: Iterable[int]) -> int:
        """Return an integer that must be one of the ``allowed`` codes."""
        self.read.add(key)
        codes = sorted(allowed)
        value = self.options.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value not in codes:
            raise self._fail(key, f"one of {', '.join(map(str, codes))}")
        return value

    def plate(self, key: str) -> str:
        """Return a required plate: a string of 1..MAX_PLATE_LENGTH characters."""
        plate = self.required_text(key)
        if len(plate) > MAX_PLATE_LENGTH:
            raise self._fail(key, f"a plate of at most {MAX_PLATE_LENGTH} characters")
        return plate

    def optional_text(self, key: str) -> str | None:
        """Return a non-empty string, or None when absent or null."""
        self.read.add(key)
        if self.options.get(key) is None:
            return None
        return self.text(key, "")

    def flag(self, key: str, default: bool) -> bool:
        """Return a boolean."""
        self.read.add(key)
        value = self.options.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def ip_address(self, key: str, default: str) -> str:
        """Return an IPv4 or IPv6 address, as text."""
        text = self.text(key, default)
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise self._fail(key, "an IP address") from None

    def push_url(self, key: str) -> str | None:
        """Return an absolute http(s) URL, or None when absent or null."""
        self.read.add(key)
        value = self.options.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(key, "an http:// or https:// URL or null")
        try:
            url = URL(value)
        except ValueError:
            raise self._fail(key, "an http:// or https:// URL or null") from None
        if url.scheme not in {"http", "https"} or not url.host:
            raise self._fail(key, "an http:// or https:// URL or null")
        return value

    def heartbeat_mode(self, key: str, default: HeartbeatMode) -> HeartbeatMode:
        """Return the heartbeat mode."""
        return HeartbeatMode(self.choice(key, default, list(HeartbeatMode)))

    def encoding(self, key: str, default: BodyEncoding) -> BodyEncoding:
        """Return the body encoding."""
        return BodyEncoding(self.choice(key, default, list(BodyEncoding)))

    def plates(self, key: str) -> tuple[str, ...]:
        """Return a list of plate strings (empty when absent)."""
        self.read.add(key)
        value = self.options.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(item, str) and 0 < len(item) <= MAX_PLATE_LENGTH
            for item in value
        ):
            raise self._fail(
                key, f"a list of plates (strings of 1..{MAX_PLATE_LENGTH} characters)"
            )
        return tuple(cast(list[str], value))

    def traffic(self, key: str) -> TrafficOptions | None:
        """Return the demo traffic, or None when absent or null."""
        self.read.add(key)
        value: JSONValue = self.options.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self._fail(
                key, "an object like {'plates': [...], 'interval_seconds': 20}"
            )
        nested = LprReader(
            self.device_id, value, prefix=f"{self.prefix}{key}.", noun=self.noun
        )
        defaults = TrafficOptions(plates=())
        traffic = TrafficOptions(
            plates=nested.plates("plates"),
            visitor_plates=nested.plates("visitor_plates"),
            interval_seconds=nested.seconds(
                "interval_seconds", defaults.interval_seconds, minimum=0.05
            ),
        )
        nested.reject_unknown()
        if not traffic.plates and not traffic.visitor_plates:
            raise ValueError(
                f"{self.noun} {self.prefix + key!r} of {self.device_id} needs at "
                "least one plate in 'plates' or 'visitor_plates'"
            )
        return traffic
