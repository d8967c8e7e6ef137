"""Test scripts/decode isapi-stream by running it as a command."""

import io
import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Any

import pytest

from scripts.lib.decode import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "isapi"

# What the command prints for each part of alert_stream_{crlf,lf}.mime.
FIXTURE_LINES: list[dict[str, Any]] = [
    {
        "live": False,
        "major": 5,
        "minor": 75,
        "kind": "face_recognized",
        "employee_no": "1001",
        "name": "张三",
        "time": "2026-03-02T08:14:00+08:00",
        "serial_no": 41,
        "verify_mode": "cardOrFace",
    },
    {
        "live": False,
        "major": 0,
        "minor": 0,
        "kind": "heartbeat",
        "employee_no": None,
        "name": None,
        "time": "2026-03-02T08:15:00+08:00",
    },
    {
        "live": True,
        "major": 5,
        "minor": 75,
        "kind": "face_recognized",
        "employee_no": "1001",
        "name": "张三",
        "time": "2026-03-02T08:15:01+08:00",
        "serial_no": 42,
        "verify_mode": "cardOrFace",
    },
    {"error": "no event in a image/jpeg part", "content_type": "image/jpeg"},
    {
        "live": True,
        "major": 5,
        "minor": 25,
        "kind": "door_opened",
        "employee_no": None,
        "name": None,
        "time": "2026-03-02T08:15:04+08:00",
        "serial_no": 43,
        "door_no": 1,
        "verify_mode": "invalid",
    },
    # The camera-style XML "videoloss inactive" part is a heartbeat too.
    {
        "live": False,
        "major": 0,
        "minor": 0,
        "kind": "heartbeat",
        "employee_no": None,
        "name": None,
        "time": "2026-03-02T08:15:10+08:00",
    },
]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Skip Home Assistant: decoding a capture needs none of it."""


def decode(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[bytes]:
    """Run the decode command the way scripts/decode does, and return its result."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-P", "-m", "scripts.lib.decode", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        check=False,
        timeout=30,
    )


def json_lines(stdout: bytes) -> list[dict[str, Any]]:
    """Parse the command's output: one JSON object per line."""
    return [json.loads(line) for line in stdout.decode("utf-8").splitlines()]


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("alert_stream_crlf.mime", []),
        ("alert_stream_lf.mime", ["--boundary", "MIME_boundary"]),
    ],
)
def test_fixture_captures(name: str, options: list[str]) -> None:
    """Print one line per part of a capture, CRLF or LF, boundary sniffed or given."""
    result = decode("isapi-stream", *options, str(FIXTURES / name))
    assert result.returncode == 0, result.stderr
    assert json_lines(result.stdout) == FIXTURE_LINES
    assert result.stderr == b""


def test_truncated_capture() -> None:
    """Report the part the capture ends inside as truncated, say so, exit 0."""
    capture = FIXTURES / "alert_stream_truncated.mime"
    result = decode("isapi-stream", str(capture))
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    assert lines[:-1] == FIXTURE_LINES
    # The last part's body is whatever follows its header block.
    body = capture.read_bytes().rpartition(b"\r\n\r\n")[2]
    assert lines[-1] == {
        "truncated": True,
        "bytes": len(body),
        "content_type": "application/json",
    }
    assert b"ends inside part 7" in result.stderr
    assert b"Traceback" not in result.stderr


def built_capture() -> bytes:
    """Build a capture: a heartbeat, a replayed and a live event, two bad parts."""
    replayed = {
        "dateTime": "2026-03-02T09:00:00+08:00",
        "eventType": "AccessControllerEvent",
        "AccessControllerEvent": {
            "majorEventType": 5,
            "subEventType": 0x4C,
            "employeeNoString": "2002",
            "name": "李四",
            "serialNo": 7,
            "currentEvent": False,
        },
    }
    live = {
        "dateTime": "2026-03-02T09:00:05+08:00",
        "eventType": "AccessControllerEvent",
        "AccessControllerEvent": {
            "majorEventType": 5,
            "subEventType": 0x15,
            "doorNo": 2,
            "serialNo": 8,
            "currentEvent": True,
        },
    }
    heartbeat = {"eventType": "heartBeat", "dateTime": "2026-03-02T09:00:01+08:00"}
    parts = [
        (b"application/json", json.dumps(heartbeat).encode()),
        (b"application/json", json.dumps(replayed, ensure_ascii=False).encode()),
        (b"text/plain", b"not json at all"),
        (b"application/json", b'{"eventType": '),
        (b"application/json", json.dumps(live).encode()),
    ]
    # No Content-Length: each part ends at the next boundary line.
    capture = b"".join(
        b"--cap\r\nContent-Type: " + content_type + b"\r\n\r\n" + body + b"\r\n"
        for content_type, body in parts
    )
    return capture + b"--cap--\r\n"


def assert_built_capture_lines(lines: list[dict[str, Any]]) -> None:
    """Check what the command prints for built_capture()."""
    assert lines[0] == {
        "live": False,
        "major": 0,
        "minor": 0,
        "kind": "heartbeat",
        "employee_no": None,
        "name": None,
        "time": "2026-03-02T09:00:01+08:00",
    }
    assert lines[1] == {
        "live": False,
        "major": 5,
        "minor": 0x4C,
        "kind": "face_failed",
        "employee_no": "2002",
        "name": "李四",
        "time": "2026-03-02T09:00:00+08:00",
        "serial_no": 7,
    }
    assert lines[2] == {
        "error": "no event in a text/plain part",
        "content_type": "text/plain",
    }
    assert lines[3]["content_type"] == "application/json"
    assert "invalid JSON" in lines[3]["error"]
    assert lines[4] == {
        "live": True,
        "major": 5,
        "minor": 0x15,
        "kind": "lock_opened",
        "employee_no": None,
        "name": None,
        "time": "2026-03-02T09:00:05+08:00",
        "serial_no": 8,
        "door_no": 2,
    }
    assert len(lines) == 5


def test_built_capture(tmp_path: Path) -> None:
    """Decode every part of a built capture, from a path relative to elsewhere."""
    (tmp_path / "capture.mime").write_bytes(built_capture())
    result = decode("isapi-stream", "capture.mime", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_built_capture_lines(json_lines(result.stdout))
    assert result.stderr == b""


def test_unreadable_input(tmp_path: Path) -> None:
    """Exit 1 with a message, not a traceback, for a missing file."""
    result = decode("isapi-stream", str(tmp_path / "missing.mime"))
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"cannot read" in result.stderr
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["isapi-steam", "x.mime"],
        ["isapi-stream"],
        ["isapi-stream", "a.mime", "b.mime"],
    ],
    ids=["no-subcommand", "unknown-subcommand", "no-file", "two-files"],
)
def test_usage_errors(args: list[str]) -> None:
    """Exit 2 with argparse's usage message for bad arguments."""
    result = decode(*args)
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"usage: scripts/decode" in result.stderr


# Importing the parser loads Home Assistant, about a second per process; these
# cases of the same code run in this process, where it is loaded already.


def test_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Read the capture from stdin for "-"."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(built_capture())))
    assert main(["isapi-stream", "-"]) == 0
    assert_built_capture_lines(
        [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    )


def test_not_a_multipart_capture(capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 1 when the input holds no multipart part at all."""
    assert main(["isapi-stream", str(FIXTURES / "response_ok.json")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "no multipart part" in err


def test_boundary_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    """Refuse an empty --boundary as a usage error."""
    with pytest.raises(SystemExit) as exited:
        main(["isapi-stream", "--boundary=", "x.mime"])
    assert exited.value.code == 2
    assert "argument --boundary: a multipart boundary has" in capsys.readouterr().err
