"""Frame alertStream parts (``multipart/mixed; boundary=MIME_boundary``)."""

from enum import StrEnum
import json
from typing import Final

from simulator.jsonvalue import JSONObject

BOUNDARY: Final = "MIME_boundary"
STREAM_CONTENT_TYPE: Final = f"multipart/mixed; boundary={BOUNDARY}"
PART_CONTENT_TYPE: Final = 'application/json; charset="UTF-8"'


class LineEnding(StrEnum):
    """Name the line ending used in part headers: firmware differs."""

    CRLF = "crlf"
    LF = "lf"

    @property
    def bytes(self) -> bytes:
        """Return the line ending's bytes."""
        return b"\r\n" if self is LineEnding.CRLF else b"\n"


def encode_body(body: JSONObject) -> bytes:
    """Serialise a part's JSON the way firmware does: tab-indented, UTF-8."""
    # The indentation puts line breaks inside the body, so a consumer that splits
    # on lines instead of honouring Content-Length breaks, as on real terminals.
    return json.dumps(body, ensure_ascii=False, indent="\t").encode("utf-8")


def frame_part(body: bytes, line_ending: LineEnding) -> tuple[bytes, bytes]:
    """Return a part's header block and its payload (body plus line ending)."""
    eol = line_ending.bytes
    header = (
        f"--{BOUNDARY}".encode("ascii")
        + eol
        + f"Content-Type: {PART_CONTENT_TYPE}".encode("ascii")
        + eol
        + f"Content-Length: {len(body)}".encode("ascii")
        + eol
        + eol
    )
    return header, body + eol


def split_part(header: bytes, payload: bytes, pieces: int) -> list[bytes]:
    """Cut a framed part into ``pieces`` (2 or 3) writes at awkward places.

    The first cut falls inside the header block, the second (if any) inside the
    body, so a consumer must reassemble both headers and bodies.
    """
    part = header + payload
    cuts = [len(header) // 2]
    if pieces > 2:
        cuts.append(len(header) + max(1, len(payload) // 2))
    chunks: list[bytes] = []
    start = 0
    for cut in cuts:
        chunks.append(part[start:cut])
        start = cut
    chunks.append(part[start:])
    return [chunk for chunk in chunks if chunk]
