"""Read a speaker zone's scenario options, with their defaults."""

from dataclasses import dataclass
import ipaddress
from typing import Final, Self

from simulator.devices.isapi.options import OptionReader
from simulator.devices.paging.g711 import LAWS, Codec, G711Law
from simulator.scenario import DeviceSpec

# Two frames at least, or every packet would be an announcement of its own.
MIN_GAP_MS: Final = 40
MAX_GAP_MS: Final = 60_000
MAX_HISTORY: Final = 1_000
MAX_SPEAKERS: Final = 1_000


@dataclass(frozen=True, slots=True)
class SpeakerZoneOptions:
    """Hold a speaker zone's scenario options, validated, with their defaults."""

    codec: Codec = Codec.PCMU
    # How many speakers the zone drives: informational only.
    speakers: int = 1
    # An IPv4 multicast group to join besides the unicast address.
    multicast_group: str | None = None
    # Silence after which the next packet starts a new announcement.
    gap_ms: int = 1_000
    # Announcements kept, oldest dropped first.
    history: int = 20

    @property
    def law(self) -> G711Law:
        """Return the G.711 law the zone expects."""
        return LAWS[self.codec]

    @classmethod
    def from_spec(cls, spec: DeviceSpec) -> Self:
        """Read and check the options of ``spec``; raise ``ValueError`` if bad."""
        reader = _ZoneOptionReader(spec.id, spec.options)
        defaults = cls()
        options = cls(
            codec=Codec(reader.choice("codec", defaults.codec, list(Codec))),
            speakers=reader.integer(
                "speakers", defaults.speakers, minimum=1, maximum=MAX_SPEAKERS
            ),
            multicast_group=reader.multicast_group("multicast_group"),
            gap_ms=reader.integer(
                "gap_ms", defaults.gap_ms, minimum=MIN_GAP_MS, maximum=MAX_GAP_MS
            ),
            history=reader.integer(
                "history", defaults.history, minimum=1, maximum=MAX_HISTORY
            ),
        )
        reader.reject_unknown()
        return options


class _ZoneOptionReader(OptionReader):
    """Read options with an optional multicast group besides the inherited ones."""

    def multicast_group(self, key: str) -> str | None:
        """Return an IPv4 multicast address option, or None if absent or null."""
        self.read.add(key)
        value = self.options.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._fail(key, "an IPv4 multicast address or null")
        try:
            address = ipaddress.IPv4Address(value)
        except ValueError:
            raise self._fail(key, "an IPv4 multicast address or null") from None
        if not address.is_multicast:
            raise self._fail(key, "an IPv4 multicast address or null")
        return str(address)
