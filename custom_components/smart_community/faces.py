"""Residents' enrolled face pictures, kept on local disk for re-enrolment."""

import os
from pathlib import Path

from homeassistant.core import HomeAssistant

from .const import DOMAIN

# Terminals reject tiny or huge pictures; these bounds catch a wrong file early.
MIN_FACE_BYTES = 1_000
MAX_FACE_BYTES = 2_000_000
JPEG_START = b"\xff\xd8\xff"


class FaceFileError(ValueError):
    """A picture cannot be a face photo (not a JPEG, or too small or large)."""


def check_face_picture(picture: bytes) -> None:
    """Refuse what no terminal would take, before storing or sending it."""
    if not picture.startswith(JPEG_START):
        raise FaceFileError("not a JPEG picture")
    if not MIN_FACE_BYTES <= len(picture) <= MAX_FACE_BYTES:
        raise FaceFileError(
            f"{len(picture)} bytes; a face photo has {MIN_FACE_BYTES} to {MAX_FACE_BYTES}"
        )


class FaceStore:
    """Keep one JPEG per resident, readable by Home Assistant's user only.

    Terminals that are reset or added later need the pictures again, so they are
    kept here, in the configuration folder, and never leave the machine except
    towards the community's own terminals.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Use the community's folder under .storage."""
        self._hass = hass
        self._folder = Path(hass.config.path(".storage", DOMAIN, entry_id, "faces"))

    def _path(self, resident_id: str) -> Path:
        """Name a resident's picture file; IDs are hashed into safe file names."""
        return self._folder / f"{resident_id.encode().hex()}.jpg"

    async def get(self, resident_id: str) -> bytes | None:
        """Return a resident's picture, or None if none was enrolled."""
        return await self._hass.async_add_executor_job(self._read, resident_id)

    def _read(self, resident_id: str) -> bytes | None:
        """Read a picture file."""
        try:
            return self._path(resident_id).read_bytes()
        except FileNotFoundError:
            return None

    async def put(self, resident_id: str, picture: bytes) -> None:
        """Store a resident's picture, replacing an older one."""
        check_face_picture(picture)
        await self._hass.async_add_executor_job(self._write, resident_id, picture)

    def _write(self, resident_id: str, picture: bytes) -> None:
        """Write a picture atomically with owner-only permissions."""
        self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self._path(resident_id)
        partial = target.with_suffix(".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(picture)
        partial.replace(target)

    async def prune(self, residents: set[str]) -> int:
        """Delete the pictures of people who are no longer residents; count them."""

        def prune() -> int:
            if not self._folder.is_dir():
                return 0
            removed = 0
            for picture in self._folder.glob("*.jpg"):
                if bytes.fromhex(picture.stem).decode() not in residents:
                    picture.unlink()
                    removed += 1
            return removed

        return await self._hass.async_add_executor_job(prune)

    async def remove_all(self) -> None:
        """Forget every picture of the community (when it is deleted)."""

        def remove() -> None:
            if self._folder.is_dir():
                for picture in self._folder.iterdir():
                    picture.unlink()
                self._folder.rmdir()

        await self._hass.async_add_executor_job(remove)
