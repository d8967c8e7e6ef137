"""Frame JPEGs as the parts of a ``multipart/x-mixed-replace`` MJPEG stream.

IP cameras send ``--boundary``, the part headers, a blank line, the JPEG and a
line break per frame; FFmpeg's mpjpeg demuxer, browsers and Home Assistant's
MJPEG camera all read that. The boundary must not occur in a JPEG, which holds
only for practical purposes: decoders find the next part by ``Content-Length``.
"""

from typing import Final

BOUNDARY: Final = "smartcommunityframe"
STREAM_CONTENT_TYPE: Final = f"multipart/x-mixed-replace; boundary={BOUNDARY}"


def frame_part(jpeg: bytes) -> bytes:
    """Return one stream part carrying ``jpeg``, ready to write."""
    header = (
        f"--{BOUNDARY}\r\n"
        "Content-Type: image/jpeg\r\n"
        f"Content-Length: {len(jpeg)}\r\n"
        "\r\n"
    ).encode("ascii")
    return header + jpeg + b"\r\n"
