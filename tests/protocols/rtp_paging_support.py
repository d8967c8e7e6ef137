"""Listen like paging speakers over loopback, and make test media, for the RTP paging tests."""

import asyncio
from dataclasses import dataclass, field
import errno
import io
import socket
from typing import Any, ClassVar

import av
import numpy as np
import numpy.typing as npt

from custom_components.smart_community.protocols.rtp_paging import (
    RtpHeader,
    parse_rtp_header,
)


@dataclass(frozen=True)
class Arrival:
    """Hold one datagram as a speaker received it."""

    time: float
    data: bytes
    header: RtpHeader

    @property
    def payload(self) -> bytes:
        """Return the RTP payload."""
        return self.data[self.header.header_length :]


@dataclass(eq=False)
class RtpReceiver(asyncio.DatagramProtocol):
    """Record every datagram that reaches a port, with its arrival time."""

    arrivals: list[Arrival] = field(default_factory=list)
    port: int = 0
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """Keep a datagram."""
        loop = asyncio.get_running_loop()
        self.arrivals.append(Arrival(loop.time(), data, parse_rtp_header(data)))
        self._arrived.set()

    async def wait_for(self, count: int) -> list[Arrival]:
        """Wait (10 s at most) until ``count`` datagrams arrived; return them all."""
        async with asyncio.timeout(10):
            while len(self.arrivals) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.arrivals

    def ssrcs(self) -> list[int]:
        """List the streams heard, in order of their first packet."""
        return list(dict.fromkeys(a.header.ssrc for a in self.arrivals))

    def stream(self, ssrc: int) -> list[Arrival]:
        """Return one stream's packets."""
        return [a for a in self.arrivals if a.header.ssrc == ssrc]


class ReceiverPool:
    """Open receivers on 127.0.0.1 and close them all at the end."""

    def __init__(self) -> None:
        """Start with none."""
        self._transports: list[asyncio.DatagramTransport] = []

    async def open(self) -> RtpReceiver:
        """Listen on a free port."""
        loop = asyncio.get_running_loop()
        transport, receiver = await loop.create_datagram_endpoint(
            RtpReceiver, local_addr=("127.0.0.1", 0)
        )
        receiver.port = transport.get_extra_info("sockname")[1]
        self._transports.append(transport)
        return receiver

    async def close(self) -> None:
        """Close every receiver."""
        for transport in self._transports:
            transport.close()
        await asyncio.sleep(0)


class RecordingSocket(socket.socket):
    """Remember every socket made, and fail sends to chosen ports on demand.

    Installed as ``socket.socket``: ``fail`` maps a destination port to the
    errno its sends raise and to how many sends fail (None: all of them).
    """

    made: ClassVar[list[RecordingSocket]] = []
    fail: ClassVar[dict[int, tuple[int, int | None]]] = {}
    refuse_family: ClassVar[int | None] = None

    def __init__(self, family: int = -1, *args: Any, **kwargs: Any) -> None:
        """Make the socket, or refuse the family as if it were disabled."""
        if family == self.refuse_family:
            raise OSError(errno.EAFNOSUPPORT, "Address family not supported")
        super().__init__(family, *args, **kwargs)
        RecordingSocket.made.append(self)

    def sendto(self, data: Any, *args: Any) -> int:
        """Send, unless this port was told to fail."""
        port = args[-1][1]
        if port in self.fail:
            code, left = self.fail[port]
            if left is None or left > 0:
                self.fail[port] = (code, None if left is None else left - 1)
                raise OSError(code, "injected failure")
        return super().sendto(data, *args)


def sine(
    frequency: float,
    seconds: float,
    rate: int,
    amplitude: float = 0.5,
) -> npt.NDArray[np.int16]:
    """Return a 16-bit sine."""
    t = np.arange(round(seconds * rate)) / rate
    return np.rint(amplitude * 32767 * np.sin(2 * np.pi * frequency * t)).astype(
        np.int16
    )


def encode_media(
    samples: npt.NDArray[np.int16],
    rate: int,
    *,
    container: str = "wav",
    codec: str = "pcm_s16le",
    channels: int = 1,
) -> bytes:
    """Encode 16-bit samples (repeated on each channel) into a media file."""
    layout = "mono" if channels == 1 else "stereo"
    interleaved = np.repeat(samples, channels).reshape(1, -1)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.AudioStream)
        if interleaved.size:
            frame = av.AudioFrame.from_ndarray(interleaved, format="s16", layout=layout)
            frame.sample_rate = rate
            frame.pts = 0
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return buffer.getvalue()


def dominant_frequency(samples: npt.NDArray[Any], rate: int) -> float:
    """Return the frequency with the most energy."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])
