"""Test how the announcer shares zones by priority, with real and scripted senders."""

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
import math
from typing import override

import pytest

from custom_components.smart_community.protocols.rtp_paging import (
    CHIME_GAP_SECONDS,
    FRAME_SAMPLES,
    G711,
    REPEAT_GAP_SECONDS,
    Announcer,
    PagingSender,
    PlayReport,
    PreemptedError,
    Priority,
    ZoneBusyError,
    ZoneTarget,
    ZoneUnreachableError,
    announcer as announcer_module,
    chime,
    compose,
    encode_samples,
    silence,
)

from .rtp_paging_support import ReceiverPool, RtpReceiver, sine

NORMAL, URGENT, EVACUATION = Priority.NORMAL, Priority.URGENT, Priority.EVACUATION
SHORT = encode_samples(sine(440, 0.1, 8000, amplitude=0.3), G711.PCMU)  # 5 frames


@dataclass(eq=False)
class Call:
    """Hold one page the scripted sender was asked to play."""

    audio: bytes
    zones: tuple[str, ...]
    release: asyncio.Event = field(default_factory=asyncio.Event)
    error: Exception | None = None
    cancelled: bool = False
    done: bool = False

    def finish(self, error: Exception | None = None) -> None:
        """Let the page end, or fail."""
        self.error = error
        self.release.set()


class ScriptedSender(PagingSender):
    """Play nothing: each page lasts until the test releases it."""

    def __init__(self) -> None:
        """Start with no calls."""
        super().__init__()
        self.calls: list[Call] = []

    @override
    async def play(
        self,
        audio: bytes,
        zones: Sequence[ZoneTarget],
        codec: G711,
        *,
        started: Callable[[], None] | None = None,
    ) -> PlayReport:
        """Record the page and wait for the test to end it."""
        call = Call(audio, tuple(zone.name for zone in zones))
        self.calls.append(call)
        if started is not None:
            started()
        try:
            await call.release.wait()
        except asyncio.CancelledError:
            call.cancelled = True
            raise
        call.done = True
        if call.error is not None:
            raise call.error
        frames = math.ceil(len(audio) / FRAME_SAMPLES)
        return PlayReport(
            packets=dict.fromkeys(call.zones, frames),
            duration_s=frames * 0.02,
            late_packets=0,
            max_lateness_ms=0.0,
            errors=dict.fromkeys(call.zones, 0),
            frames=frames,
        )

    def zones_of_calls(self) -> list[tuple[str, ...]]:
        """List the zones of each call, in order."""
        return [call.zones for call in self.calls]


def zones(*names: str) -> list[ZoneTarget]:
    """Make zones that the scripted sender never sends to."""
    return [ZoneTarget(name, "127.0.0.1", 9) for name in names]


async def settle() -> None:
    """Let the loop run what is ready."""
    for _ in range(5):
        await asyncio.sleep(0)


class Stage:
    """Run announcements as tasks and keep them to check and clean up."""

    def __init__(self, announcer: Announcer) -> None:
        """Use an announcer."""
        self.announcer = announcer
        self.tasks: list[asyncio.Task[PlayReport]] = []

    async def start(
        self,
        names: Sequence[str] | list[ZoneTarget],
        priority: Priority = NORMAL,
        audio: bytes = SHORT,
        **kwargs: object,
    ) -> asyncio.Task[PlayReport]:
        """Announce in the background and let the announcer decide."""
        targets = zones(*names) if isinstance(names[0], str) else names
        task = asyncio.create_task(
            self.announcer.announce(audio, targets, G711.PCMU, priority, **kwargs)  # type: ignore[arg-type]
        )
        self.tasks.append(task)
        await settle()
        return task


@pytest.fixture
def sender() -> ScriptedSender:
    """Return a scripted sender."""
    return ScriptedSender()


@pytest.fixture
async def stage(sender: ScriptedSender) -> AsyncIterator[Stage]:
    """Return a stage on an announcer with the scripted sender."""
    stage = Stage(Announcer(sender))
    yield stage
    await stage.announcer.stop()
    await asyncio.gather(*stage.tasks, return_exceptions=True)


# ---- with real packets ----


@pytest.fixture
async def receivers(socket_enabled: None) -> AsyncIterator[ReceiverPool]:
    """Open speakers on 127.0.0.1."""
    pool = ReceiverPool()
    yield pool
    await pool.close()


def target(name: str, receiver: RtpReceiver) -> ZoneTarget:
    """Point a zone at a receiver."""
    return ZoneTarget(name, "127.0.0.1", receiver.port)


async def test_evacuation_preempts_normal(receivers: ReceiverPool) -> None:
    """Cut a NORMAL announcement off the air the moment an evacuation starts."""
    speaker = await receivers.open()
    announcer = Announcer(PagingSender())
    long_audio = encode_samples(sine(330, 3.0, 8000), G711.PCMU)
    normal = asyncio.create_task(
        announcer.announce(long_audio, [target("hall", speaker)], G711.PCMU)
    )
    await speaker.wait_for(3)
    assert announcer.playing() == {"hall": NORMAL}
    report = await announcer.announce(
        SHORT, [target("hall", speaker)], G711.PCMU, EVACUATION, wait=False
    )
    with pytest.raises(
        PreemptedError, match="pre-empted by one of priority EVACUATION"
    ) as caught:
        await normal
    assert caught.value.by is EVACUATION
    assert report.packets == {"hall": 5}
    assert announcer.playing() == {}
    normal_ssrc, evacuation_ssrc = speaker.ssrcs()
    await speaker.wait_for(len(speaker.stream(normal_ssrc)) + 5)
    first_evacuation = next(
        index
        for index, arrival in enumerate(speaker.arrivals)
        if arrival.header.ssrc == evacuation_ssrc
    )
    assert all(
        arrival.header.ssrc == evacuation_ssrc
        for arrival in speaker.arrivals[first_evacuation:]
    )
    assert len(speaker.stream(normal_ssrc)) < 150
    heard = len(speaker.arrivals)
    await asyncio.sleep(0.1)
    assert len(speaker.arrivals) == heard


async def test_normal_waits_for_normal_then_plays(receivers: ReceiverPool) -> None:
    """Queue a NORMAL announcement behind another in the same zone."""
    speaker = await receivers.open()
    announcer = Announcer(PagingSender())
    first_audio = encode_samples(sine(330, 0.2, 8000), G711.PCMU)
    started: list[str] = []
    first = asyncio.create_task(
        announcer.announce(
            first_audio,
            [target("hall", speaker)],
            G711.PCMU,
            started=lambda: started.append("first"),
        )
    )
    await settle()
    second = await announcer.announce(
        SHORT,
        [target("hall", speaker)],
        G711.PCMU,
        started=lambda: started.append("second"),
    )
    first_report = await first
    assert started == ["first", "second"]
    assert first_report.packets == {"hall": 10}
    assert second.packets == {"hall": 5}
    first_ssrc, second_ssrc = speaker.ssrcs()
    await speaker.wait_for(15)
    assert [a.header.ssrc for a in speaker.arrivals] == [first_ssrc] * 10 + [
        second_ssrc
    ] * 5


async def test_disjoint_zones_play_together(receivers: ReceiverPool) -> None:
    """Play in zones that share nothing at the same time."""
    north, south = await receivers.open(), await receivers.open()
    announcer = Announcer(PagingSender())
    audio = encode_samples(sine(330, 0.3, 8000), G711.PCMU)
    both_playing: list[dict[str, Priority]] = []
    reports = await asyncio.gather(
        announcer.announce(audio, [target("north", north)], G711.PCMU),
        announcer.announce(
            audio,
            [target("south", south)],
            G711.PCMU,
            URGENT,
            started=lambda: both_playing.append(announcer.playing()),
        ),
    )
    assert [report.packets for report in reports] == [{"north": 15}, {"south": 15}]
    assert both_playing == [{"north": NORMAL, "south": URGENT}]
    await north.wait_for(15)
    await south.wait_for(15)
    # Each zone heard its first packet before the other zone's last one.
    assert north.arrivals[0].time < south.arrivals[-1].time
    assert south.arrivals[0].time < north.arrivals[-1].time


async def test_repeat_plays_again_after_a_second(receivers: ReceiverPool) -> None:
    """Send the audio twice with 1 s of silence between: 60 packets for 2 x 0.1 s."""
    speaker = await receivers.open()
    report = await Announcer(PagingSender()).announce(
        SHORT, [target("hall", speaker)], G711.PCMU, repeat=2
    )
    assert report.frames == 60
    arrivals = await speaker.wait_for(60)
    payload = b"".join(arrival.payload for arrival in arrivals)
    assert payload == SHORT + silence(G711.PCMU, 1.0) + SHORT
    assert [a.header.marker for a in arrivals].count(True) == 1


# ---- scheduling, with the scripted sender ----


def test_compose_layout() -> None:
    """Put the chime and its gap first, and 1 s of silence between repeats."""
    audio = b"\x01" * 800
    gap = silence(G711.PCMA, REPEAT_GAP_SECONDS)
    assert compose(audio, G711.PCMA) == audio
    assert compose(audio, G711.PCMA, repeat=3) == audio + gap + audio + gap + audio
    assert compose(audio, G711.PCMA, chime=True) == (
        chime(G711.PCMA) + silence(G711.PCMA, CHIME_GAP_SECONDS) + audio
    )
    with pytest.raises(ValueError, match="at least once"):
        compose(audio, G711.PCMA, repeat=0)


async def test_repeat_and_chime_lengthen_the_page(
    stage: Stage, sender: ScriptedSender
) -> None:
    """Hand the sender chime, gap, audio, gap, audio: 140 packets for 2 x 0.1 s."""
    task = await stage.start(["hall"], repeat=2, chime=True)
    sender.calls[0].finish()
    report = await task
    # 1.2 s chime + 0.3 s gap + 0.1 s + 1 s + 0.1 s = 2.7 s = 135 frames.
    assert report.frames == 135
    assert len(sender.calls[0].audio) == 21600


async def test_busy_zone_without_waiting(stage: Stage, sender: ScriptedSender) -> None:
    """Raise ZoneBusyError at once for the zones taken, with their priority."""
    playing = await stage.start(["a", "b"])
    with pytest.raises(ZoneBusyError, match="Zone\\(s\\) b are taken") as caught:
        await stage.announcer.announce(
            SHORT, zones("b", "c"), G711.PCMU, NORMAL, wait=False
        )
    assert caught.value.zones == ("b",)
    assert caught.value.playing_priority is NORMAL
    assert sender.zones_of_calls() == [("a", "b")]
    # A higher priority does not wait: it pre-empts.
    urgent = await stage.start(["b", "c"], URGENT, wait=False)
    with pytest.raises(PreemptedError):
        await playing
    assert stage.announcer.playing() == {"b": URGENT, "c": URGENT}
    sender.calls[1].finish()
    await urgent


async def test_evacuation_never_waits(stage: Stage, sender: ScriptedSender) -> None:
    """Pre-empt URGENT and NORMAL, even with wait=False, in all their zones."""
    normal = await stage.start(["a"])
    urgent = await stage.start(["b"], URGENT)
    evacuation = await stage.start(["a", "b", "c"], EVACUATION, wait=False)
    for task, expected in ((normal, EVACUATION), (urgent, EVACUATION)):
        with pytest.raises(PreemptedError) as caught:
            await task
        assert caught.value.by is expected
    assert [call.cancelled for call in sender.calls] == [True, True, False]
    assert stage.announcer.playing() == dict.fromkeys("abc", EVACUATION)
    # Another evacuation waits for this one.
    with pytest.raises(ZoneBusyError) as busy:
        await stage.announcer.announce(
            SHORT, zones("c"), G711.PCMU, EVACUATION, wait=False
        )
    assert busy.value.playing_priority is EVACUATION
    sender.calls[2].finish()
    assert (await evacuation).packets == dict.fromkeys("abc", 5)


async def test_waiting_order_is_priority_then_arrival(
    stage: Stage, sender: ScriptedSender
) -> None:
    """Start waiting announcements highest priority first, first come first."""
    await stage.start(["hall"], EVACUATION)
    n1 = await stage.start(["hall"], NORMAL, audio=b"\x01")
    u2 = await stage.start(["hall"], URGENT, audio=b"\x02")
    n3 = await stage.start(["hall"], NORMAL, audio=b"\x03")
    u4 = await stage.start(["hall"], URGENT, audio=b"\x04")
    for index in range(5):
        assert len(sender.calls) == index + 1
        sender.calls[index].finish()
        await settle()
    assert [call.audio for call in sender.calls[1:]] == [
        b"\x02",
        b"\x04",
        b"\x01",
        b"\x03",
    ]
    for task in (n1, u2, n3, u4):
        assert (await task).frames == 1


async def test_no_overtaking_a_waiting_announcement(
    stage: Stage, sender: ScriptedSender
) -> None:
    """Keep a later announcement out of a free zone an earlier one waits for."""
    await stage.start(["b"])
    waiting = await stage.start(["a", "b"], audio=b"\x01")
    later = await stage.start(["a"], audio=b"\x02")
    assert sender.zones_of_calls() == [("b",)]
    with pytest.raises(ZoneBusyError) as caught:
        await stage.announcer.announce(SHORT, zones("a"), G711.PCMU, wait=False)
    assert caught.value.zones == ("a",)
    assert caught.value.playing_priority is NORMAL
    # A higher priority is not held back by a lower one waiting.
    urgent = await stage.start(["a"], URGENT, audio=b"\x03")
    assert sender.calls[-1].audio == b"\x03"
    sender.calls[-1].finish()
    await urgent
    sender.calls[0].finish()
    await settle()
    assert sender.calls[-1].audio == b"\x01"
    sender.calls[-1].finish()
    await waiting
    assert sender.calls[-1].audio == b"\x02"
    sender.calls[-1].finish()
    await later


async def test_listeners_see_each_change_once(
    stage: Stage, sender: ScriptedSender, caplog: pytest.LogCaptureFixture
) -> None:
    """Call listeners on start, pre-emption and end; a failing one is logged."""
    announcer = stage.announcer
    seen: list[dict[str, Priority]] = []

    def broken() -> None:
        raise RuntimeError("listener bug")

    remove_broken = announcer.add_listener(broken)
    remove = announcer.add_listener(lambda: seen.append(announcer.playing()))
    normal = await stage.start(["hall"])
    await stage.start(["hall"], EVACUATION)
    with pytest.raises(PreemptedError):
        await normal
    sender.calls[1].finish()
    await settle()
    assert seen == [{"hall": NORMAL}, {"hall": EVACUATION}, {}]
    assert "A paging listener failed" in caplog.text
    remove()
    remove()
    remove_broken()
    await stage.start(["hall"])
    assert len(seen) == 3


async def test_stop_zones_then_all(stage: Stage, sender: ScriptedSender) -> None:
    """Stop what plays and waits in the zones named, then everything."""
    a_playing = await stage.start(["a"])
    a_waiting = await stage.start(["a"])
    b_playing = await stage.start(["b"])
    await stage.announcer.stop(["a"])
    for task in (a_playing, a_waiting):
        with pytest.raises(PreemptedError, match="was stopped") as caught:
            await task
        assert caught.value.by is None
    assert sender.calls[0].cancelled
    assert stage.announcer.playing() == {"b": NORMAL}
    assert len(sender.calls) == 2
    await stage.announcer.stop()
    with pytest.raises(PreemptedError):
        await b_playing
    assert stage.announcer.playing() == {}
    await stage.announcer.stop()


async def test_stop_with_real_packets(receivers: ReceiverPool) -> None:
    """Hear nothing more once stop has returned."""
    speaker = await receivers.open()
    announcer = Announcer(PagingSender())
    audio = encode_samples(sine(330, 3.0, 8000), G711.PCMU)
    task = asyncio.create_task(
        announcer.announce(audio, [target("hall", speaker)], G711.PCMU)
    )
    await speaker.wait_for(3)
    await announcer.stop(["hall"])
    with pytest.raises(PreemptedError):
        await task
    heard = len(speaker.arrivals)
    await asyncio.sleep(0.1)
    assert len(speaker.arrivals) == heard


async def test_cancelled_caller_frees_the_zone(
    stage: Stage, sender: ScriptedSender
) -> None:
    """Stop the page of a cancelled call; forget a cancelled waiting call."""
    playing = await stage.start(["hall"], audio=b"\x01")
    waiting = await stage.start(["hall"], audio=b"\x02")
    next_one = await stage.start(["hall"], audio=b"\x03")
    waiting.cancel()
    await settle()
    playing.cancel()
    await settle()
    assert sender.calls[0].cancelled
    assert [call.audio for call in sender.calls] == [b"\x01", b"\x03"]
    assert stage.announcer.playing() == {"hall": NORMAL}
    sender.calls[1].finish()
    assert (await next_one).frames == 1
    for task in (playing, waiting):
        assert task.cancelled()


async def test_sender_errors_reach_the_caller(
    stage: Stage, sender: ScriptedSender
) -> None:
    """Raise what the sender raised, and free the zone."""
    failing = await stage.start(["hall"])
    sender.calls[0].finish(ZoneUnreachableError("hall", "No zone can be reached"))
    with pytest.raises(ZoneUnreachableError):
        await failing
    assert stage.announcer.playing() == {}


async def test_started_is_passed_to_the_sender(
    stage: Stage, sender: ScriptedSender
) -> None:
    """Call ``started`` when the page starts, not when it is queued."""
    await stage.start(["hall"])
    calls: list[str] = []
    await stage.start(["hall"], started=lambda: calls.append("started"))
    assert calls == []
    sender.calls[0].finish()
    await settle()
    assert calls == ["started"]


async def test_announce_checks_its_arguments(stage: Stage) -> None:
    """Refuse no audio, no zones, duplicate zones and no repeat."""
    announcer = stage.announcer
    with pytest.raises(ValueError, match="no audio"):
        await announcer.announce(b"", zones("a"), G711.PCMU)
    with pytest.raises(ValueError, match="at least one zone"):
        await announcer.announce(SHORT, [], G711.PCMU)
    with pytest.raises(ValueError, match="unique"):
        await announcer.announce(SHORT, zones("a", "a"), G711.PCMU)
    with pytest.raises(ValueError, match="at least once"):
        await announcer.announce(SHORT, zones("a"), G711.PCMU, repeat=0)


def test_priorities_are_ordered() -> None:
    """Rank EVACUATION over URGENT over NORMAL."""
    assert NORMAL < URGENT < EVACUATION
    assert [int(p) for p in Priority] == [1, 2, 3]


async def test_settled_future_is_left_alone() -> None:
    """Leave a caller's future that is already done or cancelled as it is."""
    future: asyncio.Future[PlayReport] = asyncio.get_running_loop().create_future()
    future.cancel()
    announcer_module._settle(future, PreemptedError(None))
    assert future.cancelled()
