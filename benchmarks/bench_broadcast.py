"""Benchmark the broadcast action: service call -> first RTP packet at a speaker.

Run by scripts/bench with pytest: ``pytest benchmarks/bench_broadcast.py``.
One zone on loopback; a test TTS engine answers with 1.5 s of MP3. The first
call synthesises and caches the speech; the timed calls then measure the
action, the transcoding to
G.711 and the sending, but not speech synthesis. Each call is an evacuation;
the previous one is stopped first, untimed. A UDP receiver in this process
notes when the first packet of each new RTP stream (SSRC) arrives. Figures go
to the JSON file named by SC_BENCH_OUTPUT.
"""

import asyncio
import json
import os
from pathlib import Path
import time

from homeassistant.core import HomeAssistant

from benchmarks.registry import summary
from custom_components.smart_community.const import DOMAIN
from tests.safety_helpers import free_port, safety_entry
from tests.speech import ENGINE, async_setup_speech
from tests.test_broadcast import zone_subentry

CALLS = int(os.environ.get("SC_BENCH_BROADCAST_CALLS", "100"))


class FirstPackets(asyncio.DatagramProtocol):
    """Note the arrival of the first packet of every RTP stream."""

    def __init__(self) -> None:
        """Start with no streams seen."""
        self.arrivals: dict[int, int] = {}
        self.new_stream = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        """Record a stream's first packet (its SSRC is bytes 8-11)."""
        ssrc = int.from_bytes(data[8:12], "big")
        if ssrc not in self.arrivals:
            self.arrivals[ssrc] = time.perf_counter_ns()
            self.new_stream.set()


async def test_broadcast_to_first_packet(
    hass: HomeAssistant, enable_custom_integrations: None, socket_enabled: None
) -> None:
    """Time the broadcast action to the first packet at the zone."""
    port = free_port()
    transport, receiver = await hass.loop.create_datagram_endpoint(
        FirstPackets, local_addr=("127.0.0.1", port)
    )
    entry = safety_entry(zone_subentry("zone-1", "1号楼 广播分区", port, "PCMU"))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await async_setup_speech(hass)

    announcer = entry.runtime_data.broadcaster.announcer

    async def call() -> float:
        # An evacuation does not cut another short: end the last one first.
        await announcer.stop()
        receiver.new_stream.clear()
        seen = len(receiver.arrivals)
        start = time.perf_counter_ns()
        await hass.services.async_call(
            DOMAIN,
            "broadcast",
            {
                "config_entry_id": entry.entry_id,
                "message": "请立即疏散",
                "priority": "evacuation",
                "tts_engine": ENGINE,
            },
            blocking=True,
            return_response=True,
        )
        async with asyncio.timeout(5):
            while len(receiver.arrivals) == seen:
                await receiver.new_stream.wait()
                receiver.new_stream.clear()
        first = max(receiver.arrivals.values())
        return (first - start) / 1e6

    synthesis_included = await call()
    latencies = [await call() for _ in range(CALLS)]
    await announcer.stop()
    transport.close()
    result = {
        "calls": CALLS,
        "first_call_with_synthesis_ms": round(synthesis_included, 2),
        "service_call_to_first_packet_ms": summary(latencies, 2),
    }
    output = Path(os.environ.get("SC_BENCH_OUTPUT", "/dev/null"))
    await hass.async_add_executor_job(
        output.write_text, json.dumps(result, ensure_ascii=False)
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
