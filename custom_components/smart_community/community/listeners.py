"""Call back whoever follows a runtime object when it changes."""

from collections.abc import Callable
from contextlib import suppress


class Listeners[*Args]:
    """The callbacks of one kind of change; each add returns its remover."""

    def __init__(self) -> None:
        """Start with no callbacks."""
        self._callbacks: list[Callable[[*Args], None]] = []

    def add(self, callback: Callable[[*Args], None]) -> Callable[[], None]:
        """Call back on every change; return a function that stops it."""
        self._callbacks.append(callback)

        def remove() -> None:
            """Stop calling the callback; calling this twice is harmless."""
            with suppress(ValueError):
                self._callbacks.remove(callback)

        return remove

    def notify(self, *args: *Args) -> None:
        """Call every callback; one may remove itself while being called."""
        for callback in tuple(self._callbacks):
            callback(*args)
