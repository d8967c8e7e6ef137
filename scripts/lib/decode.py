"""Decode captured device traffic into one JSON object per line.

Run as ``scripts/decode SUBCOMMAND ...``; ``scripts/decode --help`` lists the
subcommands. Each subcommand is one function, registered in SUBCOMMANDS.
Exit codes: 0 decoded (a capture cut short included), 1 the input cannot be
read or holds nothing to decode, 2 usage errors.
"""

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import Flag
import io
import json
import os
from pathlib import Path
import signal
import sys
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from custom_components.smart_community.protocols.gb26875 import (
        ApplicationObject,
        Frame,
    )
    from custom_components.smart_community.protocols.isapi import ParsedPart
    from custom_components.smart_community.protocols.plate_push import (
        CameraIdentity,
        PushMessage,
    )

EXIT_OK: Final = 0
EXIT_UNREADABLE: Final = 1
STDIN: Final = "-"


def read_input(file: str) -> bytes:
    """Return the bytes of a file, or of stdin for "-"."""
    if file == STDIN:
        return sys.stdin.buffer.read()
    return Path(file).read_bytes()


def input_name(file: str) -> str:
    """Name an input for messages."""
    return "stdin" if file == STDIN else file


def warn(message: str) -> None:
    """Tell the person running the command something, apart from the output."""
    print(f"decode: {message}", file=sys.stderr)


def emit(record: Mapping[str, object]) -> None:
    """Write one JSON object on its own line."""
    print(json.dumps(record, ensure_ascii=False))


def boundary_argument(value: str) -> str:
    """Accept a --boundary value only if the multipart parser accepts it."""
    # Imported here: see isapi_stream.
    from custom_components.smart_community.protocols.isapi import MultipartParser

    try:
        MultipartParser(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def isapi_part_record(parsed: ParsedPart) -> dict[str, object]:
    """Describe one alertStream part: its event, its truncation or its error."""
    part = parsed.part
    content_type = part.content_type or None
    if parsed.truncated:
        return {
            "truncated": True,
            "bytes": len(part.body),
            "content_type": content_type,
        }
    event = parsed.event
    if event is None:
        return {"error": parsed.error or "no event", "content_type": content_type}
    record: dict[str, object] = {
        "live": event.live,
        "major": event.major,
        "minor": event.minor,
        "kind": event.kind.value,
        "employee_no": event.employee_no,
        "name": event.name,
        "time": event.time.isoformat() if event.time else None,
    }
    present_only = {
        "serial_no": event.serial_no,
        "door_no": event.door_no,
        "verify_mode": event.verify_mode,
    }
    record |= {key: value for key, value in present_only.items() if value is not None}
    return record


def add_isapi_stream_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of isapi-stream."""
    parser.add_argument(
        "file",
        metavar="FILE",
        help="the alertStream response body as captured, or - for stdin",
    )
    parser.add_argument(
        "--boundary",
        type=boundary_argument,
        help="the multipart boundary (default: read from the first '--' line)",
    )


def isapi_stream(args: argparse.Namespace) -> int:
    """Print each part of a captured Hikvision alertStream body as JSON."""
    name = input_name(args.file)
    try:
        data = read_input(args.file)
    except OSError as err:
        warn(f"cannot read {name}: {err.strerror or err}")
        return EXIT_UNREADABLE
    # Imported only now: importing custom_components.smart_community loads Home
    # Assistant (about a second), which --help and usage errors need not wait for.
    from custom_components.smart_community.protocols.isapi import (
        IsapiInvalidResponseError,
        parse_alert_stream,
    )

    try:
        parts = parse_alert_stream(data, args.boundary)
    # The parser raises ValueError on some malformed headers, not only its own error.
    except (IsapiInvalidResponseError, ValueError) as err:
        warn(f"cannot decode {name}: {err}")
        return EXIT_UNREADABLE
    if not parts:
        warn(f"{name} holds no multipart part: no line starts with the boundary")
        return EXIT_UNREADABLE
    for number, parsed in enumerate(parts, start=1):
        emit(isapi_part_record(parsed))
        if parsed.truncated:
            warn(
                f"the capture ends inside part {number}, after {len(parsed.part.body)}"
                " bytes of its body; it is reported as truncated"
            )
    return EXIT_OK


def add_plate_push_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of plate-push."""
    parser.add_argument(
        "file",
        metavar="FILE",
        help="the body a plate camera POSTed, as captured, or - for stdin",
    )
    parser.add_argument(
        "--content-type",
        help=(
            "the request's Content-Type (default: a body starting with '--' is"
            " multipart/form-data with the boundary of its first line; else JSON)"
        ),
    )


def sniff_content_type(data: bytes) -> str | None:
    """Guess a captured body's Content-Type: multipart if it opens with a delimiter."""
    first_line = data.partition(b"\n")[0].strip()
    if first_line.startswith(b"--") and len(first_line) > 2:
        boundary = first_line[2:].decode("latin-1")
        return f'multipart/form-data; boundary="{boundary}"'
    # None: parse_push reads the body as JSON, in UTF-8 or GB18030.
    return None


def camera_record(camera: CameraIdentity) -> dict[str, object]:
    """Describe the camera a push came from."""
    return {
        "serial": camera.serial_number,
        "device_name": camera.device_name,
        "ip_address": camera.ip_address,
        "channel": camera.channel,
    }


def plate_push_record(message: PushMessage) -> dict[str, object]:
    """Describe one camera push; never include the heartbeat's password."""
    # Imported here: see isapi_stream. The plate rules live in the community
    # layer, above the protocol, which is why the protocol does not apply them.
    from custom_components.smart_community.community.plates import (
        classify_plate,
        normalize_plate,
    )
    from custom_components.smart_community.protocols.plate_push import (
        Heartbeat,
        IoInput,
        PlateRead,
        SerialDataPush,
        SnapshotPush,
    )

    camera = camera_record(message.camera)
    match message:
        case PlateRead():
            return {
                "message": "plate",
                "plate": normalize_plate(message.license)
                if message.has_plate
                else None,
                "plate_valid": message.has_plate
                and classify_plate(message.license) is not None,
                "license": message.license,
                "color": message.color.name.lower(),
                "color_code": message.color_code,
                "plate_type": message.plate_type,
                "confidence": message.confidence,
                "direction": message.direction,
                "trigger_type": message.trigger_type,
                "offline": message.offline,
                "opened_by_camera": message.opened_by_camera,
                "plate_id": message.plate_id,
                **camera,
                "time": message.captured_at.isoformat()
                if message.captured_at
                else None,
                "rect": list(message.rect) if message.rect else None,
                "image_bytes": None if message.image is None else len(message.image),
                "fragment_bytes": None
                if message.fragment is None
                else len(message.fragment),
            }
        case Heartbeat():
            return {
                "message": "heartbeat",
                **camera,
                "port": message.port,
                "user_name": message.user_name,
                "password_present": message.password is not None,
            }
        case IoInput():
            return {
                "message": "io_input",
                **camera,
                "source": message.source,
                "value": message.value,
            }
        case SerialDataPush():
            return {
                "message": "serial_data",
                **camera,
                "serial_channel": message.serial_channel,
                "data_hex": message.data.hex(),
                "data_bytes": len(message.data),
            }
        case SnapshotPush():
            return {"message": "snapshot", **camera, "image_bytes": len(message.image)}


def plate_push(args: argparse.Namespace) -> int:
    """Print what a plate camera's captured push says, as one JSON object."""
    name = input_name(args.file)
    try:
        data = read_input(args.file)
    except OSError as err:
        warn(f"cannot decode {name}: {err.strerror or err}")
        return EXIT_UNREADABLE
    # Imported only now: see isapi_stream.
    from custom_components.smart_community.protocols.plate_push import (
        PlatePushError,
        parse_push,
    )

    content_type = args.content_type or sniff_content_type(data)
    try:
        message = parse_push(data, content_type)
    except PlatePushError as err:
        warn(f"cannot decode {name}: {err}")
        return EXIT_UNREADABLE
    emit(plate_push_record(message))
    return EXIT_OK


def add_gb26875_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments of gb26875."""
    parser.add_argument(
        "hex",
        metavar="HEX",
        nargs="+",
        help=(
            "the frame in hex digits, from '4040' to '2323'; spaces are allowed,"
            " within one argument or between several; - reads them from stdin"
        ),
    )
    parser.add_argument(
        "--checksum",
        choices=["sum", "xor"],
        default="sum",
        help="how the sender computes the checksum (default: sum, the standard's)",
    )


def gb26875_object_record(item: ApplicationObject) -> dict[str, object]:
    """Describe one information object: its fields, flag bits as booleans by name."""
    # Imported here: see isapi_stream.
    from custom_components.smart_community.protocols.gb26875 import (
        PARAMETER_TYPES,
        component_type_key,
        system_type_key,
    )

    record: dict[str, object] = {"type": item.TYPE.name.lower()}
    for spec in fields(item):
        value = getattr(item, spec.name)
        if isinstance(value, Flag):
            record |= {
                name.lower(): flag in value
                for name, flag in type(value).__members__.items()
            }
            continue
        record[spec.name] = value.isoformat() if isinstance(value, datetime) else value
        if spec.name == "system_type":
            record["system_type_name"] = system_type_key(value)
        elif spec.name == "component_type":
            record["component_type_name"] = component_type_key(value)
        elif spec.name == "parameter_type":
            parameter = PARAMETER_TYPES.get(value)
            record["parameter_type_name"] = (
                parameter.key if parameter else f"type_{value}"
            )
    return record


def gb26875_record(frame: Frame, checksum_ok: bool) -> dict[str, object]:
    """Describe a frame and the objects in its application data."""
    # Imported here: see isapi_stream.
    from custom_components.smart_community.protocols.gb26875 import (
        Action,
        Gb26875Error,
        decode_application_data,
        format_address,
    )

    try:
        action = Action(frame.action).name.lower()
    except ValueError:
        action = f"action_{frame.action}"
    record: dict[str, object] = {
        "action": action,
        "action_code": frame.action,
        "checksum_ok": checksum_ok,
        "serial": frame.serial,
        "version": "{}.{}".format(*frame.version),
        "time": frame.time.isoformat() if frame.time else None,
        "source": format_address(frame.source),
        "destination": format_address(frame.destination),
        "type_code": frame.data[0] if frame.data else None,
        "objects": [],
    }
    if frame.data:
        try:
            data = decode_application_data(frame.data)
        except Gb26875Error as err:
            record["error"] = str(err)
        else:
            record["objects"] = [gb26875_object_record(item) for item in data.objects]
    return record


def gb26875(args: argparse.Namespace) -> int:
    """Print what a GB/T 26875.3 frame says, as one JSON object."""
    pieces: list[str] = args.hex
    text = read_input(STDIN).decode("latin-1") if pieces == [STDIN] else "".join(pieces)
    try:
        raw = bytes.fromhex("".join(text.split()))
    except ValueError as err:
        warn(f"the frame is not hex digits: {err}")
        return EXIT_UNREADABLE
    # Imported only now: see isapi_stream.
    from custom_components.smart_community.protocols.gb26875 import (
        ChecksumMismatchError,
        ChecksumMode,
        MalformedFrameError,
        decode_frame_unchecked,
        verify_checksum,
    )

    try:
        frame, _ = decode_frame_unchecked(raw)
    except MalformedFrameError as err:
        warn(f"cannot decode the frame: {err}")
        return EXIT_UNREADABLE
    mode = ChecksumMode(args.checksum)
    try:
        verify_checksum(raw, mode)
    except ChecksumMismatchError as err:
        warn(f"{err} (checksum mode {mode}); the frame is decoded all the same")
        checksum_ok = False
    else:
        checksum_ok = True
    emit(gb26875_record(frame, checksum_ok))
    return EXIT_OK


@dataclass(frozen=True, slots=True)
class Subcommand:
    """Describe a subcommand: its one-line help, its arguments and its function."""

    summary: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


SUBCOMMANDS: Final[Mapping[str, Subcommand]] = {
    "isapi-stream": Subcommand(
        "decode a captured Hikvision ISAPI alertStream body (multipart/mixed)",
        add_isapi_stream_arguments,
        isapi_stream,
    ),
    "plate-push": Subcommand(
        "decode a body a Vzenith-style plate camera POSTed (JSON or heartbeat form)",
        add_plate_push_arguments,
        plate_push,
    ),
    "gb26875": Subcommand(
        "decode a GB/T 26875.3 fire-alarm transmission frame given in hex",
        add_gb26875_arguments,
        gb26875,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    """Build the command line parser with one subparser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="scripts/decode",
        description="Decode captured device traffic; print one JSON object per line.",
    )
    subparsers = parser.add_subparsers(
        dest="subcommand", metavar="SUBCOMMAND", required=True
    )
    for name, subcommand in SUBCOMMANDS.items():
        subparser = subparsers.add_parser(
            name, help=subcommand.summary, description=subcommand.summary
        )
        subcommand.add_arguments(subparser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the subcommand the arguments name; return the exit code."""
    # JSON lines are UTF-8 whatever the locale says; names are often Chinese.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(encoding="utf-8")
    args = build_parser().parse_args(argv)
    try:
        return SUBCOMMANDS[args.subcommand].run(args)
    except BrokenPipeError:
        # The reader stopped early (head, less): exit as a shell tool killed by
        # SIGPIPE would, and keep the flush at exit from raising it again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
