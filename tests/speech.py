"""A text-to-speech engine for tests: whatever the message, the same tone.

It answers MP3, as most engines do: Home Assistant would convert anything else
with the ffmpeg program, which test machines need not have.
"""

from functools import cache
from io import BytesIO
from typing import Any, Final

import av
from homeassistant.components.tts import Provider, TtsAudioType
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import numpy as np
from pytest_homeassistant_custom_component.common import (
    MockModule,
    MockPlatform,
    mock_integration,
    mock_platform,
)

ENGINE: Final = "tone_speech"
SPEECH_SECONDS: Final = 1.5
SPEECH_RATE: Final = 16000


@cache
def speech_mp3() -> bytes:
    """Return about 1.5 s of a 440 Hz tone at half scale, as a 16 kHz mono MP3."""
    times = np.arange(int(SPEECH_SECONDS * SPEECH_RATE)) / SPEECH_RATE
    tone = (16384 * np.sin(2 * np.pi * 440 * times)).astype(np.int16)
    buffer = BytesIO()
    with av.open(buffer, "w", format="mp3") as container:
        stream = container.add_stream("mp3", rate=SPEECH_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            tone.reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = SPEECH_RATE
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


class ToneSpeech(Provider):
    """Say every message as the same tone."""

    @property
    def default_language(self) -> str:
        """Speak Chinese unless told otherwise."""
        return "zh-CN"

    @property
    def supported_languages(self) -> list[str]:
        """Know two languages, so an unknown one fails like a real engine."""
        return ["zh-CN", "en-US"]

    def get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> TtsAudioType:
        """Return the tone."""
        return ("mp3", speech_mp3())


async def async_setup_speech(hass: HomeAssistant) -> None:
    """Set up text-to-speech with the tone engine as ``tone_speech``."""
    mock_integration(hass, MockModule(ENGINE))
    platform = MockPlatform()

    async def async_get_engine(*_args: Any) -> ToneSpeech:
        return ToneSpeech()

    platform.async_get_engine = async_get_engine  # type: ignore[attr-defined]
    mock_platform(hass, f"{ENGINE}.tts", platform)
    assert await async_setup_component(hass, "tts", {"tts": {"platform": ENGINE}})
    await hass.async_block_till_done()
