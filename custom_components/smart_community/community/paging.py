"""Emergency broadcast zones: who plays what, at which priority and volume.

A zone is a group of IP paging speakers listening to one RTP address. The
broadcaster turns one piece of audio into an announcement to several zones,
grouping them by codec (each codec needs its own transcoding) and handing each
group to the announcer, which enforces priorities per zone.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
import math
from typing import Final

from ..protocols.rtp_paging import (
    G711,
    Announcer,
    PlayReport,
    Priority,
    ZoneTarget,
)

# Below this a zone is as good as silent; volume 0 is muted instead.
MIN_GAIN_DB: Final = -40.0

type Transcoder = Callable[[bytes | str, G711], Awaitable[bytes]]


@dataclass(slots=True)
class SpeakerZone:
    """One paging zone and how loud it plays."""

    zone_id: str
    name: str
    building_id: str | None
    host: str
    port: int
    codec: G711
    ttl: int
    chime: bool
    volume: float = 1.0
    muted: bool = False

    def target(self, priority: Priority) -> ZoneTarget | None:
        """Say where and how loud to play; None if the zone is muted.

        An evacuation ignores volume and mute: everybody must hear it.
        """
        if priority is Priority.EVACUATION:
            return ZoneTarget(self.zone_id, self.host, self.port, self.ttl)
        if self.muted or self.volume <= 0:
            return None
        gain = max(MIN_GAIN_DB, 20 * math.log10(min(self.volume, 1.0)))
        return ZoneTarget(self.zone_id, self.host, self.port, self.ttl, gain)


class Broadcaster:
    """Play announcements in a community's zones."""

    def __init__(self, announcer: Announcer, transcode: Transcoder) -> None:
        """Use ``transcode`` to turn media into G.711 (off the event loop)."""
        self.announcer = announcer
        self._transcode = transcode
        self.zones: dict[str, SpeakerZone] = {}

    def zones_in(self, building_id: str) -> list[SpeakerZone]:
        """List the zones of a building."""
        return [zone for zone in self.zones.values() if zone.building_id == building_id]

    async def prepare(
        self, source: bytes | str, zones: Iterable[SpeakerZone]
    ) -> dict[G711, bytes]:
        """Transcode the media once per codec the zones use."""
        codecs = sorted({zone.codec for zone in zones})
        audio = await asyncio.gather(
            *(self._transcode(source, codec) for codec in codecs)
        )
        return dict(zip(codecs, audio, strict=True))

    async def play(
        self,
        audio: dict[G711, bytes],
        zones: Sequence[SpeakerZone],
        priority: Priority,
        *,
        wait: bool,
        repeat: int = 1,
        started: Callable[[], None] | None = None,
    ) -> list[PlayReport]:
        """Play prepared audio in the zones, each codec's zones together."""
        groups: dict[G711, list[ZoneTarget]] = {}
        chimes: dict[G711, bool] = {}
        for zone in zones:
            if (target := zone.target(priority)) is None:
                continue
            groups.setdefault(zone.codec, []).append(target)
            chimes[zone.codec] = chimes.get(zone.codec, False) or zone.chime
        if not groups:
            if started is not None:
                started()
            return []
        return list(
            await asyncio.gather(
                *(
                    self.announcer.announce(
                        audio[codec],
                        targets,
                        codec,
                        priority,
                        wait=wait,
                        repeat=repeat,
                        chime=chimes[codec],
                        started=started,
                    )
                    for codec, targets in groups.items()
                )
            )
        )
