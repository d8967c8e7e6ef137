"""Push plates at a fixed rate and time each reply; or serve a bare echo (the floor).

Run as a separate process, so that the load does not share an event loop with
the server it measures:

    python -m benchmarks.plate_load load URL --rate 100 --seconds 60 --plates FILE
    python -m benchmarks.plate_load echo            # prints its port, serves

The load is open-loop: push n is sent at start + n / rate whether or not
earlier replies have come back, as cameras do. Each push carries a small
image, as a camera set to send the plate close-up does. The result is one JSON
object on stdout: latencies in milliseconds and what the replies decided.
"""

import argparse
import asyncio
import base64
import json
from pathlib import Path
import random
import sys
import time

import aiohttp
from aiohttp import web

# About the size of a camera's plate close-up (imageFragmentFile).
FRAGMENT = base64.b64encode(random.Random(7).randbytes(12_000)).decode()
ECHO_REPLY = b'{"Response_AlarmInfoPlate":{"info":"ok"}}'


def push_body(plate: str, plate_id: int) -> bytes:
    """Write a plate push the way Vzenith-style cameras do."""
    return json.dumps(
        {
            "AlarmInfoPlate": {
                "channel": 0,
                "deviceName": "IVS",
                "ipaddr": "192.168.1.100",
                "serialno": "bench-0001",
                "result": {
                    "PlateResult": {
                        "license": plate,
                        "colorType": 5 if len(plate) == 8 else 1,
                        "type": 1,
                        "confidence": 95,
                        "direction": 4,
                        "triggerType": 1,
                        "plateid": plate_id,
                        "isoffline": 0,
                        "imageFragmentFile": FRAGMENT,
                        "imageFragmentFileLen": 9000,
                        "timeStamp": {"Timeval": {"sec": int(time.time()), "usec": 0}},
                    }
                },
            }
        },
        ensure_ascii=False,
    ).encode()


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile of sorted values."""
    index = min(len(values) - 1, max(0, round(share * len(values)) - 1))
    return values[index]


async def run_load(url: str, rate: float, seconds: float, plates: list[str]) -> None:
    """Push at the rate for the duration; print the latencies and verdicts."""
    count = int(rate * seconds)
    rng = random.Random(1)
    latencies: list[float] = [0.0] * count
    opened = 0
    errors: list[str] = []
    late_starts = 0
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(number: int, plate: str) -> None:
            nonlocal opened
            body = push_body(plate, number + 1)
            started = time.perf_counter()
            try:
                async with session.post(
                    url, data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    reply = await response.read()
                    if response.status != 200:
                        errors.append(f"HTTP {response.status}")
            except aiohttp.ClientError as err:
                errors.append(repr(err))
                return
            latencies[number] = (time.perf_counter() - started) * 1000
            if b'"info":"ok"' in reply.replace(b" ", b""):
                opened += 1

        # Warm the connections up before the clock starts.
        await asyncio.gather(*(one(0, plates[0]) for _ in range(4)))
        opened = 0
        start = time.perf_counter()
        tasks: list[asyncio.Task[None]] = []
        for number in range(count):
            due = start + number / rate
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            elif delay < -0.005:
                late_starts += 1
            tasks.append(asyncio.create_task(one(number, rng.choice(plates))))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    measured = sorted(latencies)
    print(
        json.dumps(
            {
                "pushes": count,
                "seconds": round(elapsed, 2),
                "achieved_rate": round(count / elapsed, 1),
                "late_starts": late_starts,
                "errors": len(errors),
                "first_errors": errors[:3],
                "opened": opened,
                "median_ms": round(percentile(measured, 0.50), 3),
                "p95_ms": round(percentile(measured, 0.95), 3),
                "p99_ms": round(percentile(measured, 0.99), 3),
                "max_ms": round(measured[-1], 3),
            }
        )
    )


async def serve_echo() -> None:
    """Answer every POST with a fixed open reply after reading the body."""

    async def echo(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=ECHO_REPLY, content_type="application/json")

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(json.dumps({"port": port}), flush=True)
    await asyncio.Event().wait()


def main() -> None:
    """Parse the command line and run the load or the echo server."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plate_load")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load")
    load.add_argument("url")
    load.add_argument("--rate", type=float, default=100)
    load.add_argument("--seconds", type=float, default=60)
    load.add_argument("--plates", type=Path, required=True)
    commands.add_parser("echo")
    args = parser.parse_args()
    if args.command == "echo":
        asyncio.run(serve_echo())
        return
    plates = json.loads(args.plates.read_text(encoding="utf-8"))
    asyncio.run(run_load(args.url, args.rate, args.seconds, plates))


if __name__ == "__main__":
    sys.exit(main())
