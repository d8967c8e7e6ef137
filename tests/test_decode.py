"""Test scripts/decode isapi-stream, plate-push and gb26875 by running them as commands."""

from datetime import datetime
import io
import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Any

import pytest

from scripts.lib.decode import main
from tests.protocols.test_gb26875_frame import EXAMPLE_ACK, EXAMPLE_FRAME

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


# ---- plate-push ----

PLATE_FIXTURES = ROOT / "tests" / "fixtures" / "plate_push"

# What the command prints for plate_utf8.json and plate_gbk.json.
FULL_PLATE_RECORD: dict[str, Any] = {
    "message": "plate",
    "plate": "粤B12345",
    "plate_valid": True,
    "license": "粤B12345",
    "color": "blue",
    "color_code": 1,
    "plate_type": 1,
    "confidence": 96,
    "direction": 0,
    "trigger_type": 1,
    "offline": False,
    "opened_by_camera": False,
    "plate_id": 21085,
    "serial": "fe71e106-57263272",
    "device_name": "东门入口",
    "ip_address": "192.168.1.100",
    "channel": 0,
    "time": "2023-06-09T08:39:54.687772+00:00",
    "rect": [1002, 565, 1263, 674],
    "image_bytes": 1033,
    "fragment_bytes": 961,
}


def run_main(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, Any]], str]:
    """Run the command in this process; return its exit code, JSON lines and stderr."""
    code = main(args)
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_plate_push_command() -> None:
    """Print one JSON object for a captured plate push, run as a command."""
    result = decode("plate-push", str(PLATE_FIXTURES / "plate_utf8.json"))
    assert result.returncode == 0, result.stderr
    assert json_lines(result.stdout) == [FULL_PLATE_RECORD]
    assert result.stderr == b""


def test_plate_push_command_refusal(tmp_path: Path) -> None:
    """Exit 1 with one line naming the file and the field, run as a command."""
    (tmp_path / "push.json").write_text('{"AlarmInfoPlate": {"result": {}}}')
    result = decode("plate-push", "push.json", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode() == (
        "decode: cannot decode push.json: AlarmInfoPlate.result.PlateResult is missing\n"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("plate_utf8.json", FULL_PLATE_RECORD),
        ("plate_gbk.json", FULL_PLATE_RECORD),
        (
            "plate_green.json",
            {
                "plate": "粤BD12345",
                "plate_valid": True,
                "color": "green",
                "color_code": 5,
                "plate_type": 19,
                "trigger_type": 8,
                "image_bytes": None,
            },
        ),
        (
            "plate_offline.json",
            {
                "plate": "京A12345",
                "offline": True,
                "opened_by_camera": True,
                "plate_id": 123,
                "serial": "eff50e18-e3d3862b",
            },
        ),
        (
            "plate_no_plate.json",
            {
                "plate": None,
                "plate_valid": False,
                "license": "",
                "color": "unknown",
                "time": "2015-09-09T16:12:51.672241+00:00",
                "rect": [0, 0, 0, 0],
                "fragment_bytes": None,
            },
        ),
    ],
)
def test_plate_push_plates(
    name: str, expected: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Describe plate reads, GBK and UTF-8 alike, valid plate or none."""
    code, lines, err = run_main(["plate-push", str(PLATE_FIXTURES / name)], capsys)
    assert code == 0, err
    assert len(lines) == 1
    assert lines[0]["message"] == "plate"
    assert lines[0].keys() == FULL_PLATE_RECORD.keys()
    assert lines[0] | expected == lines[0]
    assert err == ""


def test_plate_push_invalid_plate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Normalise a plate the camera misread, and say it is not valid."""
    document = json.loads((PLATE_FIXTURES / "plate_green.json").read_bytes())
    document["AlarmInfoPlate"]["result"]["PlateResult"]["license"] = "粤b·1234"
    capture = tmp_path / "misread.json"
    capture.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    code, lines, _ = run_main(["plate-push", str(capture)], capsys)
    assert code == 0
    assert lines[0]["license"] == "粤b·1234"
    assert lines[0]["plate"] == "粤B1234"
    assert lines[0]["plate_valid"] is False


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "heartbeat.multipart",
            {
                "message": "heartbeat",
                "serial": "d85b1269-8f942256",
                "device_name": "IVS",
                "ip_address": "192.168.109.40",
                "channel": 1,
                "port": 80,
                "user_name": "admin",
                "password_present": True,
            },
        ),
        (
            "gio_in.json",
            {
                "message": "io_input",
                "serial": "d85b1269-8f942256",
                "device_name": "IVS",
                "ip_address": "192.168.109.40",
                "channel": None,
                "source": 3,
                "value": 1,
            },
        ),
        (
            "serial_data.json",
            {
                "message": "serial_data",
                "serial": "cead13eb-1a198cd7",
                "device_name": "IVS",
                "ip_address": "192.168.1.100",
                "channel": 0,
                "serial_channel": 0,
                "data_hex": b"ch.com\x17".hex(),
                "data_bytes": 7,
            },
        ),
        (
            "trigger_image.json",
            {
                "message": "snapshot",
                "serial": None,
                "device_name": None,
                "ip_address": "192.168.1.100",
                "channel": None,
                "image_bytes": 831,
            },
        ),
    ],
)
def test_plate_push_other_messages(
    name: str, expected: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Describe heartbeats, IO inputs, serial data and snapshots."""
    code, lines, err = run_main(["plate-push", str(PLATE_FIXTURES / name)], capsys)
    assert code == 0, err
    assert lines == [expected]


def test_plate_push_never_prints_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Leave the heartbeat's password out, read from stdin with a given Content-Type."""
    body = b"serialno=abc&user_name=admin&pass_wd=hunter2"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    args = ["plate-push", "--content-type", "application/x-www-form-urlencoded", "-"]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "hunter2" not in out
    assert json.loads(out)["password_present"] is True
    assert json.loads(out)["serial"] == "abc"


def test_plate_push_content_type_given(capsys: pytest.CaptureFixture[str]) -> None:
    """Use a given Content-Type: a declared charset that is wrong is refused."""
    gbk = str(PLATE_FIXTURES / "plate_gbk.json")
    code, lines, err = run_main(
        ["plate-push", "--content-type", "application/json; charset=gbk", gbk], capsys
    )
    assert code == 0, err
    assert lines == [FULL_PLATE_RECORD]
    code, lines, err = run_main(
        ["plate-push", "--content-type", "application/json; charset=utf-8", gbk],
        capsys,
    )
    assert code == 1
    assert lines == []
    assert err.startswith(f"decode: cannot decode {gbk}: The body is not valid utf-8")


def test_plate_push_lf_heartbeat_sniffed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Sniff the boundary of a heartbeat saved with bare LF line ends."""
    capture = tmp_path / "heartbeat.txt"
    crlf = (PLATE_FIXTURES / "heartbeat.multipart").read_bytes()
    capture.write_bytes(crlf.replace(b"\r\n", b"\n"))
    code, lines, err = run_main(["plate-push", str(capture)], capsys)
    assert code == 0, err
    assert lines[0]["message"] == "heartbeat"
    assert lines[0]["port"] == 80


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x00" * (4 * 1024 * 1024 + 1), "The body is 4194305 bytes, over the limit"),
        (b"<xml/>", "The body is not valid JSON"),
        (b"--b\r\nContent-Disposition: form-data; name=port\r\n\r\n80\r\n", "closing"),
    ],
    ids=["too-large", "not-json", "unclosed-multipart"],
)
def test_plate_push_refusals(
    tmp_path: Path, content: bytes, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1 with one line for bodies that are no push."""
    capture = tmp_path / "capture.bin"
    capture.write_bytes(content)
    code, lines, err = run_main(["plate-push", str(capture)], capsys)
    assert code == 1
    assert lines == []
    assert err.startswith(f"decode: cannot decode {capture}: ")
    assert reason in err
    assert err.count("\n") == 1


def test_plate_push_unreadable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1 naming the file for one that cannot be read."""
    missing = tmp_path / "missing.json"
    code, lines, err = run_main(["plate-push", str(missing)], capsys)
    assert code == 1
    assert lines == []
    assert err == f"decode: cannot decode {missing}: No such file or directory\n"


# ---- gb26875 ----

# What the command prints for the example frame of protocols.md §3.2.
EXAMPLE_RECORD: dict[str, Any] = {
    "action": "send_data",
    "action_code": 2,
    "checksum_ok": True,
    "serial": 1,
    "version": "1.1",
    "time": "2026-05-01T08:30:00",
    "source": "000000000001",
    "destination": "000000000000",
    "type_code": 2,
    "objects": [
        {
            "type": "component_state",
            "system_type": 1,
            "system_type_name": "fire_alarm_system",
            "system_address": 1,
            "component_type": 40,
            "component_type_name": "smoke_detector",
            "component_address": 258,
            "normal": True,
            "fire_alarm": True,
            "fault": False,
            "disabled": False,
            "supervisory": False,
            "started": False,
            "feedback": False,
            "delayed": False,
            "power_fault": False,
            "description": "3号楼2层走廊烟感",
            "time": "2026-05-01T08:30:00",
        }
    ],
}


def gb26875_hex(raw: bytes) -> str:
    """Write a frame as spaced hex, as a capture tool shows it."""
    return raw.hex(" ")


def gb26875_frame(data: bytes, *, action: int = 2, xor: bool = False) -> bytes:
    """Encode a frame from transmitter 1 at the example's time."""
    from custom_components.smart_community.protocols.gb26875 import (
        ChecksumMode,
        Frame,
        encode_frame,
    )

    frame = Frame(7, (1, 0), datetime(2026, 5, 1, 8, 30), 1, 0, action, data)
    return encode_frame(frame, ChecksumMode.XOR if xor else ChecksumMode.SUM)


def test_gb26875_command() -> None:
    """Print the example frame's header and its smoke detector, run as a command."""
    result = decode("gb26875", gb26875_hex(EXAMPLE_FRAME))
    assert result.returncode == 0, result.stderr
    assert json_lines(result.stdout) == [EXAMPLE_RECORD]
    assert result.stderr == b""


def test_gb26875_hex_in_pieces_and_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Take the hex in several arguments, unspaced, or from stdin."""
    text = EXAMPLE_FRAME.hex()
    code, lines, err = run_main(["gb26875", text[:20], text[20:]], capsys)
    assert (code, lines, err) == (0, [EXAMPLE_RECORD], "")
    spaced = gb26875_hex(EXAMPLE_FRAME).upper() + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(spaced.encode())))
    code, lines, err = run_main(["gb26875", "-"], capsys)
    assert (code, lines, err) == (0, [EXAMPLE_RECORD], "")


def test_gb26875_ack(capsys: pytest.CaptureFixture[str]) -> None:
    """Describe an ack: no application data, no objects."""
    code, lines, _ = run_main(["gb26875", gb26875_hex(EXAMPLE_ACK)], capsys)
    assert code == 0
    assert lines == [
        EXAMPLE_RECORD
        | {
            "action": "ack",
            "action_code": 3,
            "source": "000000000000",
            "destination": "000000000001",
            "type_code": None,
            "objects": [],
        }
    ]


def test_gb26875_bad_checksum(capsys: pytest.CaptureFixture[str]) -> None:
    """Decode a frame with a bad checksum all the same, and say so."""
    broken = EXAMPLE_FRAME[:-3] + b"\x00##"
    code, lines, err = run_main(["gb26875", gb26875_hex(broken)], capsys)
    assert code == 0
    assert lines == [EXAMPLE_RECORD | {"checksum_ok": False}]
    assert err == (
        "decode: The checksum is 0x00, but the frame's bytes give 0x38"
        " (checksum mode sum); the frame is decoded all the same\n"
    )


def test_gb26875_xor(capsys: pytest.CaptureFixture[str]) -> None:
    """Check the checksum in the mode asked for."""
    raw = gb26875_frame(b"", xor=True)
    code, lines, err = run_main(["gb26875", "--checksum", "xor", raw.hex()], capsys)
    assert (code, err) == (0, "")
    assert lines[0]["checksum_ok"] is True
    assert lines[0]["version"] == "1.0"
    code, lines, err = run_main(["gb26875", raw.hex()], capsys)
    assert lines[0]["checksum_ok"] is False
    assert "checksum mode sum" in err


def test_gb26875_other_objects(capsys: pytest.CaptureFixture[str]) -> None:
    """Describe other objects: their fields, flag bits by name, names of codes."""
    from custom_components.smart_community.protocols.gb26875 import (
        ComponentParameter,
        SystemState,
        SystemStateFlags,
        TransmitterState,
        TransmitterStateFlags,
        encode_application_data,
    )

    moment = datetime(2026, 5, 1, 8, 29, 59)
    system = encode_application_data(
        [SystemState(11, 2, SystemStateFlags.NORMAL | SystemStateFlags.MANUAL, None)]
    )
    code, lines, _ = run_main(["gb26875", gb26875_frame(system).hex()], capsys)
    assert code == 0
    assert lines[0]["objects"] == [
        {
            "type": "system_state",
            "system_type": 11,
            "system_type_name": "hydrant_system",
            "system_address": 2,
            **{name.lower(): False for name in SystemStateFlags.__members__},
            "normal": True,
            "manual": True,
            "time": None,
        }
    ]
    transmitter = encode_application_data(
        [TransmitterState(TransmitterStateFlags.MAIN_POWER_FAULT, moment)]
    )
    code, lines, _ = run_main(["gb26875", gb26875_frame(transmitter).hex()], capsys)
    [record] = lines[0]["objects"]
    assert record["type"] == "transmitter_state"
    assert record["main_power_fault"] is True
    assert record["normal"] is False
    assert record["time"] == "2026-05-01T08:29:59"
    parameters = encode_application_data(
        [
            ComponentParameter.from_raw(1, 1, 30, 9, 3, 253, moment),
            ComponentParameter.from_raw(1, 1, 30, 9, 77, -4, moment),
        ]
    )
    code, lines, _ = run_main(["gb26875", gb26875_frame(parameters).hex()], capsys)
    temperature, unknown = lines[0]["objects"]
    assert temperature == {
        "type": "component_parameter",
        "system_type": 1,
        "system_type_name": "fire_alarm_system",
        "system_address": 1,
        "component_type": 30,
        "component_type_name": "heat_detector",
        "component_address": 9,
        "parameter_type": 3,
        "parameter_type_name": "temperature",
        "raw_value": 253,
        "value": 25.3,
        "unit": "°C",
        "time": "2026-05-01T08:29:59",
    }
    assert unknown["parameter_type_name"] == "type_77"
    assert (unknown["value"], unknown["unit"]) == (-4.0, None)


@pytest.mark.parametrize(
    ("data", "action", "expected"),
    [
        (bytes((99, 1, 5)), 2, {"type_code": 99, "action": "send_data"}),
        (bytes((2, 1, 0)), 5, {"type_code": 2, "action": "response"}),
        (bytes((21, 2, 1)), 200, {"type_code": 21, "action": "action_200"}),
    ],
    ids=["unknown-type", "malformed", "unknown-action"],
)
def test_gb26875_unreadable_data(
    data: bytes,
    action: int,
    expected: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Print the header with no objects and the reason when the data cannot be read."""
    code, lines, err = run_main(
        ["gb26875", gb26875_frame(data, action=action).hex()], capsys
    )
    assert (code, err) == (0, "")
    [record] = lines
    assert record | expected == record
    assert record["objects"] == []
    assert record["action_code"] == action
    assert record["error"]


@pytest.mark.parametrize(
    ("hex_text", "reason"),
    [
        ("40 40 0", "the frame is not hex digits"),
        ("zz", "the frame is not hex digits"),
        ("", "cannot decode the frame: The frame is 0 bytes"),
        ("2323" + "00" * 28, "cannot decode the frame: The start mark is 2323"),
        (EXAMPLE_ACK.hex()[:-2] + "24", "cannot decode the frame: The end mark"),
    ],
    ids=["odd-digits", "not-hex", "empty", "bad-start", "bad-end"],
)
def test_gb26875_refusals(
    hex_text: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1 with one line on stderr for bad hex or a frame that cannot be read."""
    code, lines, err = run_main(["gb26875", hex_text], capsys)
    assert code == 1
    assert lines == []
    assert err.startswith(f"decode: {reason}")
    assert err.count("\n") == 1


def test_gb26875_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 2 for no hex or an unknown checksum mode."""
    for args in (["gb26875"], ["gb26875", "--checksum", "crc", "4040"]):
        with pytest.raises(SystemExit) as exited:
            main(args)
        assert exited.value.code == 2
    assert "usage: scripts/decode gb26875" in capsys.readouterr().err
