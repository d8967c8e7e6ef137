"""Answer HTTP Digest challenges (RFC 7616) for the ISAPI client; never Basic."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
import hashlib
import secrets
from typing import Final

from .errors import IsapiAuthError

_HASHES: Final[dict[str, Callable[[bytes], str]]] = {
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
}
# Stronger algorithms first, when a device offers several challenges.
_PREFERENCE: Final = ("SHA-256", "MD5")
_TOKEN_CHARS: Final = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


@dataclass(frozen=True, slots=True)
class Challenge:
    """Hold one authentication challenge: its scheme and lower-cased parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def is_digest(self) -> bool:
        """Tell whether this is a Digest challenge."""
        return self.scheme.lower() == "digest"

    @property
    def algorithm(self) -> str:
        """Return the upper-cased algorithm, MD5 when the challenge names none."""
        return self.params.get("algorithm", "MD5").upper()

    @property
    def stale(self) -> bool:
        """Tell whether the server says only the nonce was out of date."""
        return self.params.get("stale", "").lower() == "true"


def _read_token(text: str, pos: int) -> tuple[str, int]:
    """Read an HTTP token starting at pos; return it and the position after it."""
    end = pos
    while end < len(text) and text[end] in _TOKEN_CHARS:
        end += 1
    return text[pos:end], end


def _read_value(text: str, pos: int) -> tuple[str, int]:
    """Read a token or quoted string starting at pos; return it unescaped."""
    if pos < len(text) and text[pos] == '"':
        chars: list[str] = []
        pos += 1
        while pos < len(text) and text[pos] != '"':
            if text[pos] == "\\" and pos + 1 < len(text):
                pos += 1
            chars.append(text[pos])
            pos += 1
        return "".join(chars), pos + 1
    end = pos
    while end < len(text) and text[end] not in ", \t":
        end += 1
    return text[pos:end], end


def _skip(text: str, pos: int, chars: str) -> int:
    """Return the first position at or after pos whose character is not in chars."""
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a WWW-Authenticate value, which may hold several challenges."""
    challenges: list[Challenge] = []
    current: Challenge | None = None
    pos = 0
    while (pos := _skip(header, pos, ", \t")) < len(header):
        name, after = _read_token(header, pos)
        if not name:
            # Not a token: skip the odd character rather than loop on it.
            pos += 1
            continue
        eq = _skip(header, after, " \t")
        if eq < len(header) and header[eq] == "=" and current is not None:
            value, pos = _read_value(header, _skip(header, eq + 1, " \t"))
            current.params[name.lower()] = value
        else:
            current = Challenge(scheme=name)
            challenges.append(current)
            pos = after
    return challenges


def select_digest(challenges: Iterable[Challenge]) -> Challenge | None:
    """Return the strongest Digest challenge this client can answer, if any."""
    usable = [
        challenge
        for challenge in challenges
        if challenge.is_digest
        and challenge.algorithm.removesuffix("-SESS") in _HASHES
        and "nonce" in challenge.params
    ]
    for algorithm in _PREFERENCE:
        for challenge in usable:
            if challenge.algorithm.removesuffix("-SESS") == algorithm:
                return challenge
    return None


def _quote(value: str) -> str:
    """Quote a header parameter value, escaping quotes and backslashes."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@dataclass(slots=True)
class DigestAuth:
    """Build Authorization headers for the latest Digest challenge of one device.

    The nonce count goes up with every use of a nonce and starts again at 1 with
    a new nonce, as RFC 7616 requires.
    """

    username: str
    password: str = field(repr=False)
    cnonce_factory: Callable[[], str] = field(
        default=lambda: secrets.token_hex(16), repr=False
    )
    challenge: Challenge | None = field(default=None, init=False)
    nonce_count: int = field(default=0, init=False)

    def update(self, challenge: Challenge) -> None:
        """Adopt a new challenge; a new nonce restarts the nonce count."""
        if self.challenge is None or challenge.params.get(
            "nonce"
        ) != self.challenge.params.get("nonce"):
            self.nonce_count = 0
        self.challenge = challenge

    def forget(self) -> None:
        """Drop the challenge, so the next request goes without credentials."""
        self.challenge = None
        self.nonce_count = 0

    def authorization(self, method: str, uri: str) -> str | None:
        """Return the Authorization value for a request, or None before any challenge.

        ``uri`` is the request target exactly as sent: path and query string.
        """
        if (challenge := self.challenge) is None:
            return None
        params = challenge.params
        algorithm = challenge.algorithm
        digest = _HASHES[algorithm.removesuffix("-SESS")]
        realm, nonce = params.get("realm", ""), params["nonce"]
        qop_options = [
            option.strip().lower() for option in params.get("qop", "").split(",")
        ]
        if "qop" in params and "auth" not in qop_options:
            raise IsapiAuthError(
                f"The device requires Digest qop {params['qop']!r}; only 'auth' is supported"
            )
        self.nonce_count += 1
        nc = f"{self.nonce_count:08x}"
        cnonce = self.cnonce_factory()
        ha1 = digest(f"{self.username}:{realm}:{self.password}".encode())
        if algorithm.endswith("-SESS"):
            ha1 = digest(f"{ha1}:{nonce}:{cnonce}".encode())
        ha2 = digest(f"{method}:{uri}".encode())
        fields = [
            f"username={_quote(self.username)}",
            f"realm={_quote(realm)}",
            f"nonce={_quote(nonce)}",
            f"uri={_quote(uri)}",
        ]
        if "qop" in params:
            response = digest(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}".encode())
            fields += [
                f"response={_quote(response)}",
                "qop=auth",
                f"nc={nc}",
                f"cnonce={_quote(cnonce)}",
            ]
        else:
            # RFC 2069 compatibility: devices that offer no qop expect no nc or cnonce.
            response = digest(f"{ha1}:{nonce}:{ha2}".encode())
            fields.append(f"response={_quote(response)}")
        if "algorithm" in params:
            fields.append(f"algorithm={params['algorithm']}")
        if "opaque" in params:
            fields.append(f"opaque={_quote(params['opaque'])}")
        return "Digest " + ", ".join(fields)
