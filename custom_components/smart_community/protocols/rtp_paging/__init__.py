"""Page IP speakers over RTP G.711, unicast or multicast, without Home Assistant.

Emergency broadcast for a community: media becomes 8 kHz mono G.711
(``codec``), is cut into RTP packets (``rtp``), and is sent in real time to
every zone of a page at once (``sender``); the ``announcer`` decides, zone by
zone and by priority, what may play and what must wait or stop.
"""

from .announcer import (
    CHIME_GAP_SECONDS,
    REPEAT_GAP_SECONDS,
    Announcer,
    Priority,
    compose,
)
from .codec import (
    FRAME_SAMPLES,
    FRAME_SECONDS,
    G711,
    SAMPLE_RATE,
    apply_gain,
    chime,
    decode_pcm16,
    decode_samples,
    encode_pcm16,
    encode_samples,
    gain_table,
    silence,
    transcode,
)
from .errors import (
    MediaUnavailableError,
    PagingError,
    PreemptedError,
    UnsupportedMediaError,
    ZoneBusyError,
    ZoneUnreachableError,
)
from .rtp import RtpHeader, RtpPacketizer, parse_rtp_header
from .sender import PagingSender, PlayReport, ZoneTarget

__all__ = [
    "CHIME_GAP_SECONDS",
    "FRAME_SAMPLES",
    "FRAME_SECONDS",
    "G711",
    "REPEAT_GAP_SECONDS",
    "SAMPLE_RATE",
    "Announcer",
    "MediaUnavailableError",
    "PagingError",
    "PagingSender",
    "PlayReport",
    "PreemptedError",
    "Priority",
    "RtpHeader",
    "RtpPacketizer",
    "UnsupportedMediaError",
    "ZoneBusyError",
    "ZoneTarget",
    "ZoneUnreachableError",
    "apply_gain",
    "chime",
    "compose",
    "decode_pcm16",
    "decode_samples",
    "encode_pcm16",
    "encode_samples",
    "gain_table",
    "parse_rtp_header",
    "silence",
    "transcode",
]
