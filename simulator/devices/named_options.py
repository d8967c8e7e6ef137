"""Read a device's options or action parameters, naming the bad one in errors."""

from typing import override

from simulator.devices.isapi.options import OptionReader
from simulator.jsonvalue import JSONObject, JSONValue


class NamedOptionReader(OptionReader):
    """Read options (or action parameters); errors say which and what they must be."""

    def __init__(
        self, device_id: str, options: JSONObject, *, noun: str = "option"
    ) -> None:
        """Wrap options; ``noun`` says what they are in error messages."""
        super().__init__(device_id, options)
        self.noun = noun

    @override
    def _fail(self, key: str, expected: str) -> ValueError:
        """Return the error for a bad value."""
        return ValueError(
            f"{self.noun} {key!r} of {self.device_id} must be {expected}, "
            f"not {self.options[key]!r}"
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
            raise ValueError(
                f"unknown {self.noun}s of {self.device_id}: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(self.read))})"
            )

    def fail(self, key: str, expected: str) -> ValueError:
        """Return the error for a bad value found by a caller."""
        return self._fail(key, expected)

    def required(self, key: str, expected: str) -> JSONValue:
        """Return a value that has no default, or say what it should be."""
        self.read.add(key)
        if key not in self.options:
            raise ValueError(
                f"{self.noun} {key!r} of {self.device_id} is required ({expected})"
            )
        return self.options[key]
