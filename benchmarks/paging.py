"""Benchmark RTP paging: pacing, an 81-zone all-call, call to first packet, transcoding.

Run with ``python -m benchmarks.paging [--seconds 10] [--zones 81] [--calls 100]``.
Speakers are played by a separate process (this module's ``receive`` command)
with one UDP socket per zone on 127.0.0.1. It timestamps each datagram with
the kernel's receive time (SO_TIMESTAMPNS, moved to the monotonic clock) where
the platform has it, else with the time it read it. Printed as JSON:

1. pacing: one zone, ``--seconds`` of audio; inter-arrival intervals at the
   receiver (mean, stdev = jitter, p99, max), the RFC 3550 jitter estimate,
   and the sender's own lateness report;
2. all_call: ``--zones`` zones at once for ``--seconds``, each zone with a
   gain of its own (the worst case for per-zone volume); CPU time of this
   (the sending) process per second of audio and as % of one core, packets
   received against expected, the pacing of the first zone, and the time
   from the call to the first packets of all zones;
3. call_to_first_packet: ``--calls`` announcements of already-transcoded
   audio, from the call to ``Announcer.announce()`` to the first packet at the
   receiver (p50, p95, max), and to the ``started`` callback in-process;
4. transcode: ``transcode()`` of 10 s of speech-like MP3 to PCMU and PCMA.
"""

import argparse
import asyncio
from collections.abc import Sequence
import io
import itertools
import json
import math
import os
from pathlib import Path
import platform
import selectors
import socket
import statistics
import struct
import sys
import time
from typing import Any, Final

import av
import numpy as np
import numpy.typing as npt

from custom_components.smart_community.protocols.rtp_paging import (
    G711,
    SAMPLE_RATE,
    Announcer,
    PagingSender,
    ZoneTarget,
    encode_samples,
    parse_rtp_header,
    transcode,
)

ROOT: Final = Path(__file__).resolve().parent.parent
# SO_TIMESTAMPNS: Python names it on few builds; 35 is its value on Linux
# (asm-generic, x86, Arm). Where setting it fails, user-space times are used.
TIMESTAMPNS: Final[int | None] = getattr(
    socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None
)
# Time for the last packets to land before the receiver is told to stop.
DRAIN_SECONDS: Final = 0.3


# ---- the receiver process ----


def _monotonic_offset_ns() -> int:
    """Return CLOCK_REALTIME minus CLOCK_MONOTONIC, from the closest of a few reads."""
    best: tuple[int, int] | None = None
    for _ in range(20):
        before = time.monotonic_ns()
        real = time.time_ns()
        after = time.monotonic_ns()
        if best is None or after - before < best[0]:
            best = (after - before, real - (before + after) // 2)
    assert best is not None
    return best[1]


def _interval_stats(times_ns: Sequence[int]) -> dict[str, float]:
    """Summarise the gaps between arrivals, in ms."""
    gaps = [(b - a) / 1e6 for a, b in itertools.pairwise(times_ns)]
    if len(gaps) < 2:
        return {}
    ordered = sorted(gaps)
    return {
        "mean": round(statistics.fmean(gaps), 4),
        "stdev": round(statistics.stdev(gaps), 4),
        "min": round(ordered[0], 4),
        "p50": round(ordered[len(ordered) // 2], 4),
        "p99": round(
            ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)], 4
        ),
        "max": round(ordered[-1], 4),
    }


def _rfc3550_jitter_ms(packets: Sequence[tuple[int, int, int, bool, int]]) -> float:
    """Return the interarrival jitter estimate of RFC 3550 §6.4.1, in ms."""
    jitter = 0.0
    for previous, current in itertools.pairwise(packets):
        arrival = (current[0] - previous[0]) / 1e9
        sent = ((current[2] - previous[2]) % 2**32) / SAMPLE_RATE
        jitter += (abs(arrival - sent) - jitter) / 16
    return round(jitter * 1000, 4)


def _summary(packets: list[tuple[int, int, int, bool, int]]) -> dict[str, Any]:
    """Summarise one port: count, losses, pacing, and talkspurt starts."""
    by_stream: dict[int, list[tuple[int, int, int, bool, int]]] = {}
    for packet in packets:
        by_stream.setdefault(packet[4], []).append(packet)
    lost = 0
    for stream in by_stream.values():
        sequences = [packet[1] for packet in stream]
        expected = (sequences[-1] - sequences[0]) % 65536 + 1
        lost += expected - len(set(sequences))
    longest = max(by_stream.values(), key=len, default=[])
    return {
        "packets": len(packets),
        "streams": len(by_stream),
        "lost": lost,
        "intervals_ms": _interval_stats([packet[0] for packet in longest]),
        "rfc3550_jitter_ms": _rfc3550_jitter_ms(longest),
        "talkspurts_ns": [packet[0] for packet in packets if packet[3]],
    }


def receive(count: int) -> None:
    """Listen on ``count`` ports until told to stop on stdin; print a summary."""
    offset = _monotonic_offset_ns()
    selector = selectors.DefaultSelector()
    sockets: list[socket.socket] = []
    option = TIMESTAMPNS
    kernel_clock = option is not None
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        if option is not None and kernel_clock:
            try:
                sock.setsockopt(socket.SOL_SOCKET, option, 1)
            except OSError:
                kernel_clock = False
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, len(sockets))
        sockets.append(sock)
    selector.register(sys.stdin, selectors.EVENT_READ, None)
    print(json.dumps({"ports": [s.getsockname()[1] for s in sockets]}), flush=True)
    received: list[list[tuple[int, int, int, bool, int]]] = [[] for _ in sockets]
    ancillary = socket.CMSG_SPACE(16)
    running = True
    while running:
        for key, _ in selector.select():
            if key.data is None:
                sys.stdin.readline()
                running = False
                continue
            sock = sockets[key.data]
            while True:
                try:
                    data, cmsgs, _, _ = sock.recvmsg(2048, ancillary)
                except BlockingIOError:
                    break
                stamp = time.monotonic_ns()
                for level, kind, payload in cmsgs:
                    if kernel_clock and (level, kind) == (
                        socket.SOL_SOCKET,
                        TIMESTAMPNS,
                    ):
                        seconds, nanoseconds = struct.unpack("@ll", payload[:16])
                        stamp = seconds * 1_000_000_000 + nanoseconds - offset
                header = parse_rtp_header(data)
                received[key.data].append(
                    (
                        stamp,
                        header.sequence,
                        header.timestamp,
                        header.marker,
                        header.ssrc,
                    )
                )
    print(
        json.dumps(
            {
                "clock": "kernel" if kernel_clock else "user",
                "ports": [_summary(packets) for packets in received],
            }
        ),
        flush=True,
    )


# ---- the sending side ----


class Speakers:
    """Drive a receiver process."""

    def __init__(self, process: asyncio.subprocess.Process, ports: list[int]) -> None:
        """Keep the process and its ports."""
        self.process = process
        self.ports = ports

    @classmethod
    async def start(cls, count: int) -> Speakers:
        """Start a receiver with ``count`` ports."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.paging",
            "receive",
            "--ports",
            str(count),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert process.stdout is not None
        line = await process.stdout.readline()
        return cls(process, json.loads(line)["ports"])

    async def stop(self) -> dict[str, Any]:
        """Let the last packets land, stop the receiver and return its summary."""
        await asyncio.sleep(DRAIN_SECONDS)
        stdout, _ = await self.process.communicate(b"stop\n")
        result: dict[str, Any] = json.loads(stdout.splitlines()[-1])
        return result


def tone(seconds: float) -> bytes:
    """Return ``seconds`` of a quiet tone as PCMU."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    samples = np.rint(8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    return encode_samples(samples, G711.PCMU)


def _sender_report(report: Any) -> dict[str, Any]:
    """Keep the sender's own pacing figures."""
    return {
        "late_packets": report.late_packets,
        "max_lateness_ms": round(report.max_lateness_ms, 3),
        "duration_s": round(report.duration_s, 4),
    }


async def pacing(seconds: float) -> dict[str, Any]:
    """Send to one zone and measure the intervals at the receiver."""
    speakers = await Speakers.start(1)
    audio = tone(seconds)
    report = await PagingSender().play(
        audio, [ZoneTarget("zone", "127.0.0.1", speakers.ports[0])], G711.PCMU
    )
    port = (await speakers.stop())["ports"][0]
    return {
        "seconds": seconds,
        "packets_received": port["packets"],
        "packets_expected": report.frames,
        "lost": port["lost"],
        "receiver_intervals_ms": port["intervals_ms"],
        "rfc3550_jitter_ms": port["rfc3550_jitter_ms"],
        "sender": _sender_report(report),
    }


async def all_call(zones: int, seconds: float) -> dict[str, Any]:
    """Send to every zone at once and measure the CPU time it takes."""
    speakers = await Speakers.start(zones)
    audio = tone(seconds)
    # The worst case for per-zone volume: every zone has a gain of its own.
    targets = [
        ZoneTarget(f"zone-{index}", "127.0.0.1", port, gain_db=-0.25 * index)
        for index, port in enumerate(speakers.ports)
    ]
    started: list[float] = []
    cpu_before = time.process_time()
    wall_before = time.monotonic()
    report = await PagingSender().play(
        audio, targets, G711.PCMU, started=lambda: started.append(time.monotonic())
    )
    cpu = time.process_time() - cpu_before
    wall = time.monotonic() - wall_before
    summary = await speakers.stop()
    received = sum(port["packets"] for port in summary["ports"])
    sample = summary["ports"][0]
    return {
        "zones": zones,
        "seconds": seconds,
        "gains": "a different gain per zone",
        "call_to_started_ms": round(1000 * (started[0] - wall_before), 3),
        "cpu_s": round(cpu, 4),
        "cpu_ms_per_audio_second": round(1000 * cpu / seconds, 3),
        "cpu_percent_of_one_core": round(100 * cpu / wall, 2),
        "packets_received": received,
        "packets_expected": report.frames * zones,
        "lost": sum(port["lost"] for port in summary["ports"]),
        "send_errors": sum(report.errors.values()),
        "sample_zone_intervals_ms": sample["intervals_ms"],
        "sample_zone_rfc3550_jitter_ms": sample["rfc3550_jitter_ms"],
        "sender": _sender_report(report),
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    """Return p50, p95 and max, in ms."""
    ordered = sorted(values)
    return {
        "p50": round(ordered[len(ordered) // 2], 3),
        "p95": round(
            ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)], 3
        ),
        "max": round(ordered[-1], 3),
    }


async def call_to_first_packet(calls: int) -> dict[str, Any]:
    """Time announce() to the first packet at the receiver, one call at a time."""
    speakers = await Speakers.start(1)
    announcer = Announcer(PagingSender())
    zone = [ZoneTarget("zone", "127.0.0.1", speakers.ports[0])]
    audio = tone(0.02)
    called: list[int] = []
    started: list[int] = []
    for _ in range(calls):
        called.append(time.monotonic_ns())
        await announcer.announce(
            audio,
            zone,
            G711.PCMU,
            started=lambda: started.append(time.monotonic_ns()),
        )
    summary = await speakers.stop()
    firsts = summary["ports"][0]["talkspurts_ns"]
    assert len(firsts) == calls, (len(firsts), calls)
    return {
        "calls": calls,
        "clock": summary["clock"],
        "to_first_packet_ms": _percentiles(
            [(first - call) / 1e6 for call, first in zip(called, firsts, strict=True)]
        ),
        "to_started_callback_ms": _percentiles(
            [(start - call) / 1e6 for call, start in zip(called, started, strict=True)]
        ),
    }


def speech_like(seconds: float, rate: int) -> npt.NDArray[np.float32]:
    """Synthesise a voice-like signal: gliding pitch, formants, syllables, pauses."""
    rng = np.random.default_rng(7)
    t = np.arange(round(seconds * rate)) / rate
    pitch = 140 + 30 * np.sin(2 * np.pi * 0.7 * t) + 10 * np.sin(2 * np.pi * 3.1 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voice = np.zeros_like(t)
    for harmonic in range(1, 30):
        frequency = harmonic * pitch
        # Two formants that move with the "vowel".
        first = 500 + 200 * np.sin(2 * np.pi * 2.3 * t)
        second = 1500 + 400 * np.sin(2 * np.pi * 1.7 * t + 1)
        gain = np.exp(-(((frequency - first) / 180) ** 2)) + 0.6 * np.exp(
            -(((frequency - second) / 250) ** 2)
        )
        voice += (gain + 0.02) * np.sin(harmonic * phase) / harmonic
    syllables = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
    pauses = (np.sin(2 * np.pi * 0.25 * t) > -0.7).astype(np.float64)
    hiss = rng.normal(0, 0.05, len(t)) * (np.sin(2 * np.pi * 4 * t + 2) > 0.8)
    signal = (voice * syllables + hiss) * pauses
    result: npt.NDArray[np.float32] = (0.5 * signal / np.max(np.abs(signal))).astype(
        np.float32
    )
    return result


def mp3(samples: npt.NDArray[np.float32], rate: int) -> bytes:
    """Encode mono float samples as a 64 kbit/s MP3."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp3") as output:
        stream = output.add_stream("libmp3lame", rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        stream.bit_rate = 64_000
        pcm = np.rint(samples * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        frame.pts = 0
        for packet in stream.encode(frame):
            output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return buffer.getvalue()


def transcoding(seconds: float = 10.0, rounds: int = 5) -> dict[str, Any]:
    """Time transcode() of speech-like MP3 to both laws."""
    rate = 22050
    media = mp3(speech_like(seconds, rate), rate)
    result: dict[str, Any] = {
        "source": f"{seconds:g} s mono MP3, {rate} Hz, 64 kbit/s",
        "bytes": len(media),
    }
    for codec in G711:
        times = []
        for _ in range(rounds):
            before = time.perf_counter()
            audio = transcode(media, codec)
            times.append(time.perf_counter() - before)
        result[codec.value] = {
            "median_ms": round(1000 * statistics.median(times), 2),
            "min_ms": round(1000 * min(times), 2),
            "realtime_factor": round(seconds / statistics.median(times), 1),
            "output_seconds": len(audio) / SAMPLE_RATE,
        }
    return result


async def measure(seconds: float, zones: int, calls: int) -> dict[str, Any]:
    """Run the three network measurements, one after the other."""
    return {
        "pacing": await pacing(seconds),
        "all_call": await all_call(zones, seconds),
        "call_to_first_packet": await call_to_first_packet(calls),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Measure and print JSON, or play the receiver (``receive``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    receiver = commands.add_parser("receive", help="internal: the speakers' process")
    receiver.add_argument("--ports", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length (10)")
    parser.add_argument("--zones", type=int, default=81, help="all-call zones (81)")
    parser.add_argument("--calls", type=int, default=100, help="latency calls (100)")
    args = parser.parse_args(argv)
    if args.command == "receive":
        receive(args.ports)
        return
    if args.seconds <= 0 or args.zones < 1 or args.calls < 2:
        parser.error("--seconds must be > 0, --zones >= 1 and --calls >= 2")
    results = asyncio.run(measure(args.seconds, args.zones, args.calls))
    results["transcode"] = transcoding()
    print(
        json.dumps(
            {
                "machine": (
                    f"{platform.machine()}, {os.cpu_count()} CPUs, "
                    f"{platform.python_implementation()} {platform.python_version()}"
                ),
                "pyav": av.__version__,
                **results,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
