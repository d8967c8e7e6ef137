"""Report what several frames agree on, once.

One frame can misread a plate or mistake a face turned half away; the same
answer from several frames in a short window is far less likely to be wrong.
Once reported, the same answer stays quiet for a while, so a car waiting at the
barrier or a resident standing at the door is one event, not ten per second.
"""

from collections import deque
from dataclasses import dataclass
from typing import Final

DEFAULT_VOTES: Final = 2
DEFAULT_WINDOW_SECONDS: Final = 3.0
DEFAULT_QUIET_SECONDS: Final = 30.0


@dataclass(frozen=True, slots=True)
class Agreed:
    """An answer several frames agreed on."""

    key: str
    votes: int
    # Mean confidence of the agreeing frames.
    confidence: float


class Agreement:
    """Count answers over a sliding window; report each once per quiet period."""

    def __init__(
        self,
        *,
        votes: int = DEFAULT_VOTES,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        quiet_seconds: float = DEFAULT_QUIET_SECONDS,
    ) -> None:
        """Set how many frames must agree within how long, and the quiet time."""
        if votes < 1:
            raise ValueError("at least one vote is needed")
        self.votes = votes
        self.window_seconds = window_seconds
        self.quiet_seconds = quiet_seconds
        self._seen: deque[tuple[float, str, float]] = deque()
        self._reported: dict[str, float] = {}

    def add(self, key: str, confidence: float, at: float) -> Agreed | None:
        """Count one frame's answer at a monotonic time; return it once agreed."""
        seen = self._seen
        seen.append((at, key, confidence))
        while seen and seen[0][0] < at - self.window_seconds:
            seen.popleft()
        for reported, when in list(self._reported.items()):
            if when < at - self.quiet_seconds:
                del self._reported[reported]
        if key in self._reported:
            # Still there: keep it quiet for as long as it stays.
            self._reported[key] = at
            return None
        matching = [score for _, seen_key, score in seen if seen_key == key]
        if len(matching) < self.votes:
            return None
        self._reported[key] = at
        return Agreed(
            key=key, votes=len(matching), confidence=sum(matching) / len(matching)
        )

    def forget(self, key: str) -> None:
        """Allow an answer to be reported again at once (e.g. a gate that reopened)."""
        self._reported.pop(key, None)
