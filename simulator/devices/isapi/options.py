"""Read a face terminal's scenario options, with their defaults."""

from dataclasses import dataclass
from enum import StrEnum
import hashlib
from typing import Self

from simulator.devices.isapi.stream import LineEnding
from simulator.jsonvalue import JSONObject
from simulator.scenario import DeviceSpec


class Firmware(StrEnum):
    """Name the firmware generation, which decides how persons are deleted."""

    # UserInfoDetail/Delete (asynchronous, polled through DeleteProcess).
    NEW = "new"
    # UserInfo/Delete (synchronous); UserInfoDetail/* answers 404.
    OLD = "old"


@dataclass(frozen=True, slots=True)
class FaceTerminalOptions:
    """Hold a face terminal's scenario options, validated, with their defaults."""

    model: str = "DS-K1T671M"
    serial_number: str = ""
    doors: int = 1
    username: str = "admin"
    password: str = "sim-password"
    firmware: Firmware = Firmware.NEW
    mac_address: str = ""
    # Digest: presentations allowed per nonce; the next one is answered stale.
    nonce_uses: int = 2
    # Wrong passwords in a row before the account locks, and for how long.
    max_bad_logins: int = 5
    lock_seconds: float = 60.0
    # How long a remote or face open keeps the lock released.
    open_seconds: float = 5.0
    max_persons: int = 10_000
    # alertStream: keep-alive period, replayed events, slot hold after a disconnect.
    heartbeat_seconds: float = 10.0
    replay_count: int = 5
    slot_hold_seconds: float = 2.0
    line_ending: LineEnding = LineEnding.CRLF
    # How long a reboot keeps the port closed.
    reboot_seconds: float = 1.0

    @classmethod
    def from_spec(cls, spec: DeviceSpec) -> Self:
        """Read and check the options of ``spec``; raise ``ValueError`` if bad."""
        reader = OptionReader(spec.id, spec.options)
        defaults = cls()
        options = cls(
            model=reader.text("model", defaults.model),
            serial_number=reader.text("serial_number", f"SIM-{spec.id.upper()}"),
            doors=reader.integer("doors", defaults.doors, minimum=1, maximum=4),
            username=reader.text("username", defaults.username),
            password=reader.text("password", defaults.password),
            firmware=Firmware(
                reader.choice("firmware", defaults.firmware, list(Firmware))
            ),
            mac_address=reader.text("mac_address", derived_mac(spec.id)),
            nonce_uses=reader.integer("nonce_uses", defaults.nonce_uses, minimum=1),
            max_bad_logins=reader.integer(
                "max_bad_logins", defaults.max_bad_logins, minimum=1
            ),
            lock_seconds=reader.seconds("lock_seconds", defaults.lock_seconds),
            open_seconds=reader.seconds("open_seconds", defaults.open_seconds),
            max_persons=reader.integer("max_persons", defaults.max_persons, minimum=0),
            heartbeat_seconds=reader.seconds(
                "heartbeat_seconds", defaults.heartbeat_seconds
            ),
            replay_count=reader.integer(
                "replay_count", defaults.replay_count, minimum=0
            ),
            slot_hold_seconds=reader.seconds(
                "slot_hold_seconds", defaults.slot_hold_seconds, minimum=0.0
            ),
            line_ending=LineEnding(
                reader.choice("line_ending", defaults.line_ending, list(LineEnding))
            ),
            reboot_seconds=reader.seconds(
                "reboot_seconds", defaults.reboot_seconds, minimum=0.0
            ),
        )
        reader.reject_unknown()
        return options


class OptionReader:
    """Read typed scenario options, naming the device and option when one is bad."""

    def __init__(self, device_id: str, options: JSONObject) -> None:
        """Wrap a device's free-form options."""
        self.device_id = device_id
        self.options = options
        self.read: set[str] = set()

    def _fail(self, key: str, expected: str) -> ValueError:
        """Return the error for a bad option."""
        return ValueError(
            f"option {key!r} of {self.device_id} must be {expected}, "
            f"not {self.options[key]!r}"
        )

    def text(self, key: str, default: str) -> str:
        """Return a non-empty string option."""
        self.read.add(key)
        value = self.options.get(key, default)
        if not isinstance(value, str) or not value:
            raise self._fail(key, "a non-empty string")
        return value

    def integer(
        self, key: str, default: int, *, minimum: int, maximum: int | None = None
    ) -> int:
        """Return an integer option within bounds."""
        self.read.add(key)
        value = self.options.get(key, default)
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < minimum
            or (maximum is not None and value > maximum)
        ):
            bounds = f">= {minimum}" if maximum is None else f"{minimum}..{maximum}"
            raise self._fail(key, f"an integer {bounds}")
        return value

    def seconds(self, key: str, default: float, *, minimum: float = 0.001) -> float:
        """Return a duration option in seconds."""
        self.read.add(key)
        value = self.options.get(key, default)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or value < minimum
        ):
            raise self._fail(key, f"a number of seconds >= {minimum:g}")
        return float(value)

    def choice(self, key: str, default: str, allowed: list[str]) -> str:
        """Return a string option that must be one of ``allowed``."""
        self.read.add(key)
        value = self.options.get(key, default)
        if value not in allowed:
            raise self._fail(key, f"one of {', '.join(allowed)}")
        return str(value)

    def reject_unknown(self) -> None:
        """Refuse options nobody reads: they are typos or wishes."""
        unknown = sorted(
            key
            for key in self.options
            if key not in self.read and not key.startswith("_")
        )
        if unknown:
            raise ValueError(
                f"unknown options of {self.device_id}: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(self.read))})"
            )


def derived_mac(device_id: str) -> str:
    """Return a stable, locally administered MAC address for a device id."""
    digest = hashlib.sha256(device_id.encode("utf-8")).digest()
    # 0x02 in the first octet: locally administered, unicast.
    octets = bytes([0x02]) + digest[:5]
    return ":".join(f"{octet:02x}" for octet in octets)
