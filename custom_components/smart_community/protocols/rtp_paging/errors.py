"""Define the errors raised while preparing and sending a page."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .announcer import Priority


class PagingError(Exception):
    """Signal anything that keeps a page from being played."""


class UnsupportedMediaError(PagingError):
    """Report media that cannot be decoded: no audio stream, unknown or broken data.

    The message says why; sending the same media again cannot help.
    """


class MediaUnavailableError(PagingError):
    """Report media that could not be read: a missing file, an HTTP error, a timeout."""


class ZoneBusyError(PagingError):
    """Report zones taken by an announcement the new one may not interrupt.

    ``zones`` names the zones that are taken, ``playing_priority`` is the
    highest priority holding them (playing, or queued ahead of the new one).
    """

    def __init__(self, zones: tuple[str, ...], playing_priority: Priority) -> None:
        """Keep the busy zones and the priority holding them."""
        super().__init__(
            f"Zone(s) {', '.join(zones)} are taken by a {playing_priority.name} announcement"
        )
        self.zones = zones
        self.playing_priority = playing_priority


class ZoneUnreachableError(PagingError):
    """Report that no zone of a page could be reached.

    Raised only when every zone failed: its address did not resolve, or the
    first packet met a network-unreachable error. ``zone`` names the first of
    them; the message gives each zone's reason.
    """

    def __init__(self, zone: str, reason: str) -> None:
        """Keep the zone's name."""
        super().__init__(reason)
        self.zone = zone


class PreemptedError(PagingError):
    """Report an announcement cut short or dropped before it could play.

    ``by`` is the priority of the announcement that pre-empted it, or None
    when it was stopped through ``Announcer.stop``.
    """

    def __init__(self, by: Priority | None) -> None:
        """Keep the priority that took over."""
        super().__init__(
            "The announcement was stopped"
            if by is None
            else f"The announcement was pre-empted by one of priority {by.name}"
        )
        self.by = by
