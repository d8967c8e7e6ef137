"""Run the simulated community from the command line until SIGINT or SIGTERM.

Once everything listens, stdout gets exactly one line: the scenario JSON (see
``SimulatedCommunity.describe``); people read the summary on stderr. Exit codes:
0 after a clean stop, 1 when a device fails to start or stop, 2 for a bad command
line or scenario, 130 when a second signal interrupts the shutdown.
"""

import argparse
import asyncio
from collections.abc import Sequence
import io
import json
import logging
import os
import signal
import sys
from typing import Final

from simulator.community import DeviceStartError, SimulatedCommunity
from simulator.control import ControlServer
from simulator.jsonvalue import JSONObject
from simulator.scenario import Scenario, ScenarioError, load_scenario

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

_STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Play a residential community's devices over loopback.",
    )
    parser.add_argument(
        "--scenario",
        default="demo",
        help="built-in scenario name (simulator/scenarios/NAME.json) or path to a "
        ".json file (default: %(default)s)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address every device and the control API listen on (default: %(default)s)",
    )
    parser.add_argument(
        "--control-port",
        type=int,
        default=0,
        help="port of the control API; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--watch-stdin",
        action="store_true",
        help="also stop when stdin closes, so the simulator dies with the process "
        "that started it (used by the test harness)",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level on stderr (default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator and return the process exit code."""
    # Device names are Chinese; a non-UTF-8 terminal must not crash the summary.
    if isinstance(sys.stderr, io.TextIOWrapper):
        sys.stderr.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        print(f"simulator: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(
            _serve(scenario, args.host, args.control_port, watch_stdin=args.watch_stdin)
        )
    except KeyboardInterrupt:
        print("simulator: interrupted while stopping", file=sys.stderr)
        return EXIT_INTERRUPTED


async def _serve(
    scenario: Scenario, host: str, control_port: int, *, watch_stdin: bool
) -> int:
    """Start the community and the control API, wait for a stop signal, stop both."""
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for stop_signal in _STOP_SIGNALS:
        loop.add_signal_handler(stop_signal, stop_requested.set)
    if watch_stdin:
        _stop_when_stdin_closes(loop, stop_requested)

    community = SimulatedCommunity(scenario, host)
    control = ControlServer(community)
    try:
        await community.start()
        control_url = await control.start(host, control_port)
    except DeviceStartError as error:
        print(f"simulator: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as error:
        print(
            f"simulator: the control API cannot listen on {host}:{control_port}: "
            f"{error.strerror}",
            file=sys.stderr,
        )
        await control.stop()
        await community.stop()
        return EXIT_FAILURE

    try:
        _announce(community.describe(control_url), community)
        await stop_requested.wait()
    finally:
        # A second signal now takes the default route, so a device stuck in
        # stop() cannot trap whoever is pressing Ctrl-C.
        for stop_signal in _STOP_SIGNALS:
            loop.remove_signal_handler(stop_signal)
        if watch_stdin:
            loop.remove_reader(sys.stdin.fileno())
        await control.stop()
        failed = await community.stop()
    if failed:
        print(
            f"simulator: devices did not stop cleanly: {', '.join(failed)}",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    print("simulator: stopped", file=sys.stderr)
    return EXIT_OK


def _stop_when_stdin_closes(
    loop: asyncio.AbstractEventLoop, stop_requested: asyncio.Event
) -> None:
    """Request a stop once stdin reaches end of file."""
    # If the parent dies without signalling (a killed test run), the kernel closes
    # its end of the pipe; this keeps orphaned simulators from piling up.
    stdin_fd = sys.stdin.fileno()

    def on_readable() -> None:
        """Drain stdin; on end of file stop watching and request the stop."""
        try:
            data = os.read(stdin_fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(stdin_fd)
            stop_requested.set()

    loop.add_reader(stdin_fd, on_readable)


def _announce(description: JSONObject, community: SimulatedCommunity) -> None:
    """Print the scenario JSON line to stdout and a summary per device to stderr."""
    # ASCII-only JSON reads the same whatever the pipe's encoding is.
    sys.stdout.write(json.dumps(description) + "\n")
    sys.stdout.flush()

    scenario = community.scenario
    devices = community.devices.values()
    simulated = sum(device.implemented for device in devices)
    print(
        f"{scenario.community.name} ({scenario.name}): "
        f"{_count(len(scenario.buildings), 'building')}, "
        f"{_count(len(devices), 'device')} ({simulated} simulated); "
        f"control API {description['control_url']}",
        file=sys.stderr,
    )
    id_width = max((len(device.id) for device in devices), default=0)
    kind_width = max((len(device.kind) for device in devices), default=0)
    for device in devices:
        building = device.building.name if device.building else "site"
        endpoint = device.endpoint
        if not device.implemented:
            where = "not simulated yet"
        elif endpoint is None or endpoint.port is None:
            where = "no listening port"
        else:
            where = f"{endpoint.host}:{endpoint.port}"
            if endpoint.protocol:
                where += f" ({endpoint.protocol})"
        print(
            f"  {device.id:<{id_width}}  {device.kind:<{kind_width}}  "
            f"{building}  {device.spec.name}  ->  {where}",
            file=sys.stderr,
        )
    sys.stderr.flush()


def _count(number: int, noun: str) -> str:
    """Write a count with its noun in singular or plural."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
