"""Run the device simulator as a subprocess for tests: the ``simulator`` fixtures.

Register it from ``tests/conftest.py``:
``pytest_plugins = ["tests.simulator_harness"]``.

- ``simulator``: the demo community, started for one test and stopped after it.
- ``start_simulator(scenario="demo", *extra_args)``: start any scenario (a built-in
  name or a path); every process started is stopped at teardown.

Both enable sockets for the test (``socket_enabled``): pytest-homeassistant-custom-
component blocks socket creation, while connecting stays limited to 127.0.0.1.
"""

from collections.abc import Iterator, Sequence
import contextlib
from http import HTTPStatus
import json
import os
from pathlib import Path
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from typing import IO, Any, Final, Protocol

import aiohttp
import pytest

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT: Final = 20.0
STOP_TIMEOUT: Final = 5.0
REQUEST_TIMEOUT: Final = 10.0


class SimulatorStartError(Exception):
    """Report that the simulator did not come up, with its exit code and stderr."""

    def __init__(self, message: str, *, returncode: int | None, stderr: str) -> None:
        """Keep the exit code (None if still running) and everything it logged."""
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"{message}\n--- simulator stderr ---\n{stderr}".rstrip())


class SimulatorRequestError(Exception):
    """Report a control-API answer that is not a success."""

    def __init__(self, method: str, url: str, status: int, body: Any) -> None:
        """Keep the status and the decoded body."""
        self.status = status
        self.body = body
        super().__init__(f"{method} {url} answered {status}: {body!r}")


class SimulatorProcess:
    """Drive one running simulator: its scenario JSON, control API and lifetime."""

    def __init__(
        self, process: subprocess.Popen[bytes], stderr_file: IO[bytes]
    ) -> None:
        """Wrap a started process; ``info`` is filled once its JSON line is read."""
        self.process = process
        self.info: dict[str, Any] = {}
        # Set by stop(); teardown then leaves judging the exit code to the test.
        self.stop_requested = False
        self._stderr_file = stderr_file

    @property
    def control_url(self) -> str:
        """Return the control API's base URL."""
        return str(self.info["control_url"])

    @property
    def returncode(self) -> int | None:
        """Return the exit code, or None while the simulator runs."""
        return self.process.poll()

    @property
    def stderr(self) -> str:
        """Return everything the simulator has written to stderr so far."""
        # pread leaves alone the file offset the simulator shares and writes at.
        fd = self._stderr_file.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8", "replace")

    def device(self, device_id: str) -> dict[str, Any]:
        """Return a device's entry of the scenario JSON."""
        for device in self.info["devices"]:
            if device["id"] == device_id:
                return dict(device)
        known = ", ".join(device["id"] for device in self.info["devices"])
        raise LookupError(f"no device {device_id!r} in the scenario (devices: {known})")

    def devices(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Return the scenario's devices, optionally only those of one kind."""
        return [
            dict(device)
            for device in self.info["devices"]
            if kind is None or device["kind"] == kind
        ]

    async def request(
        self, method: str, path: str, payload: Any = None
    ) -> tuple[int, Any]:
        """Call the control API and return the status and decoded JSON body."""
        url = f"{self.control_url}{path}"
        # ThreadedResolver: the default aiodns resolver would start a thread that
        # outlives the test; loopback IPs are never resolved anyway.
        connector = aiohttp.TCPConnector(resolver=aiohttp.ThreadedResolver())
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        async with (
            aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
            session.request(method, url, json=payload) as response,
        ):
            return response.status, await response.json(content_type=None)

    async def get(self, path: str) -> Any:
        """GET a control-API path; raise ``SimulatorRequestError`` unless it is 2xx."""
        status, body = await self.request("GET", path)
        if not HTTPStatus(status).is_success:
            raise SimulatorRequestError("GET", path, status, body)
        return body

    async def snapshot(self, device_id: str) -> dict[str, Any]:
        """Return a device's live snapshot from the control API."""
        body: dict[str, Any] = await self.get(f"/devices/{device_id}")
        return body

    async def action(
        self, device_id: str, action: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run a device action through the control API and return its result."""
        path = f"/devices/{device_id}/actions/{action}"
        status, body = await self.request("POST", path, params or {})
        if not HTTPStatus(status).is_success:
            raise SimulatorRequestError("POST", path, status, body)
        result: dict[str, Any] = body
        return result

    def stop(
        self, stop_signal: int = signal.SIGINT, timeout: float = STOP_TIMEOUT
    ) -> int:
        """Signal the simulator, wait (kill after ``timeout``) and return its exit code."""
        self.stop_requested = True
        if self.process.poll() is None:
            self.process.send_signal(stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def close(self) -> None:
        """Release the pipes and the stderr file of a stopped simulator."""
        for pipe in (self.process.stdin, self.process.stdout, self._stderr_file):
            if pipe is not None and not pipe.closed:
                pipe.close()


class StartSimulator(Protocol):
    """Start a simulator for the current test (the ``start_simulator`` fixture)."""

    def __call__(
        self, scenario: str | Path = "demo", *extra_args: str
    ) -> SimulatorProcess:
        """Start ``scenario`` and return once its scenario JSON has been read."""
        ...


def launch_simulator(
    scenario: str | Path = "demo",
    extra_args: Sequence[str] = (),
    *,
    startup_timeout: float = STARTUP_TIMEOUT,
) -> SimulatorProcess:
    """Start ``python -m simulator`` and wait for its scenario JSON line.

    Raise ``SimulatorStartError`` with the simulator's stderr if it exits first or
    stays silent for ``startup_timeout`` seconds. The caller must ``stop()`` and
    ``close()`` the returned process.
    """
    command = [
        sys.executable,
        "-m",
        "simulator",
        "--scenario",
        str(scenario),
        "--control-port",
        "0",
        # The simulator stops by itself if this process dies without stopping it.
        "--watch-stdin",
        *extra_args,
    ]
    # A file, not a pipe: nobody drains stderr while the test runs, and a full
    # pipe would block the simulator.
    stderr_file = tempfile.TemporaryFile()  # noqa: SIM115 - SimulatorProcess closes it
    process = subprocess.Popen(  # noqa: S603 - fixed command, our own interpreter
        command,
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    simulator = SimulatorProcess(process, stderr_file)
    try:
        line = _read_first_line(simulator, startup_timeout)
        try:
            simulator.info = json.loads(line)
        except ValueError as error:
            raise SimulatorStartError(
                f"the simulator's first stdout line is not JSON ({error}): {line!r}",
                returncode=process.poll(),
                stderr=simulator.stderr,
            ) from None
    except BaseException:
        simulator.stop(signal.SIGKILL)
        simulator.close()
        raise
    return simulator


def _read_first_line(simulator: SimulatorProcess, timeout: float) -> bytes:
    """Read stdout up to the first newline, failing if the process exits or stalls."""
    process = simulator.process
    assert process.stdout is not None
    stdout_fd = process.stdout.fileno()
    deadline = time.monotonic() + timeout
    received = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(stdout_fd, selectors.EVENT_READ)
        while b"\n" not in received:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SimulatorStartError(
                    f"the simulator printed no scenario JSON within {timeout:g} s",
                    returncode=process.poll(),
                    stderr=simulator.stderr,
                )
            if not selector.select(remaining):
                continue
            if chunk := os.read(stdout_fd, 65536):
                received += chunk
                continue
            # End of file: the simulator is exiting; let it finish its stderr.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_TIMEOUT)
            raise SimulatorStartError(
                f"the simulator exited with code {process.poll()} "
                "before printing its scenario JSON",
                returncode=process.poll(),
                stderr=simulator.stderr,
            )
    return bytes(received.split(b"\n", 1)[0])


@pytest.fixture
def start_simulator(socket_enabled: None) -> Iterator[StartSimulator]:
    """Start simulators for one test; stop each at teardown and check it exits 0."""
    # socket_enabled lets the test talk to the control API; the process itself
    # is outside pytest-socket's reach.
    started: list[SimulatorProcess] = []

    def start(scenario: str | Path = "demo", *extra_args: str) -> SimulatorProcess:
        """Start ``scenario`` and remember it for teardown."""
        process = launch_simulator(scenario, extra_args)
        started.append(process)
        return process

    yield start

    problems: list[str] = []
    for process in started:
        # A test that stopped the simulator itself has judged its exit code.
        judged_by_test = process.stop_requested
        returncode = process.stop()
        if not judged_by_test and returncode != 0:
            problems.append(
                f"simulator {process.info.get('scenario')!r} exited with code "
                f"{returncode} (expected 0 after SIGINT)\n"
                f"--- simulator stderr ---\n{process.stderr}"
            )
        process.close()
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture
def simulator(start_simulator: StartSimulator) -> SimulatorProcess:
    """Run the demo community for one test."""
    return start_simulator("demo")
