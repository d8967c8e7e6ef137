"""Check HTTP Digest credentials (RFC 7616, MD5, qop=auth) as a Hikvision terminal does.

Two firmware quirks are played on purpose: a nonce is refused (``stale``) once it
has been used ``nonce_uses`` times, and after ``max_bad_logins`` wrong passwords in
a row the account locks for ``lock_seconds``, even for the right password.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
import hashlib
import hmac
import math
import secrets
import time
from typing import Final

# Remembered nonces; a client that asks for a fresh challenge before every request
# would otherwise grow the table without bound.
_MAX_NONCES: Final = 512
_REQUIRED_PARAMS: Final = frozenset(
    {"username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce"}
)
_NONCE_COUNT_LENGTH: Final = 8


class Verdict(StrEnum):
    """Say what became of a request's credentials."""

    # The credentials are right: serve the request.
    ACCEPTED = "accepted"
    # No usable credentials (none, Basic, or another scheme): send a challenge.
    CHALLENGE = "challenge"
    # The nonce is unknown or used up: send a fresh challenge with stale=TRUE.
    STALE = "stale"
    # The header is not a well-formed Digest answer for this request.
    MALFORMED = "malformed"
    # Wrong user name or password; the account is still open.
    REJECTED = "rejected"
    # The account is locked after too many wrong passwords.
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class AuthOutcome:
    """Carry the verdict and the numbers the terminal puts in its 401 body."""

    verdict: Verdict
    # Wrong passwords still allowed before the lock (REJECTED).
    attempts_left: int = 0
    # Whole seconds until the lock ends (LOCKED).
    unlock_seconds: int = 0
    # Why a header was MALFORMED, for the log.
    reason: str = ""


def md5_hex(text: str) -> str:
    """Return the lowercase hex MD5 digest of a UTF-8 string."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def parse_digest_params(text: str) -> dict[str, str] | None:
    """Split a Digest header's ``k=v, k="v"`` parameters; None if malformed."""
    params: dict[str, str] = {}
    index, length = 0, len(text)
    while index < length:
        while index < length and text[index] in " \t,":
            index += 1
        if index >= length:
            break
        equals = text.find("=", index)
        if equals < 0:
            return None
        name = text[index:equals].strip().lower()
        if not name or any(char in name for char in ' \t,"'):
            return None
        index = equals + 1
        while index < length and text[index] in " \t":
            index += 1
        if index < length and text[index] == '"':
            value_chars: list[str] = []
            index += 1
            while index < length and text[index] != '"':
                # A backslash escapes the next character (RFC 7230 quoted-pair).
                if text[index] == "\\" and index + 1 < length:
                    index += 1
                value_chars.append(text[index])
                index += 1
            if index >= length:
                return None
            index += 1
            value = "".join(value_chars)
        else:
            end = text.find(",", index)
            end = length if end < 0 else end
            value = text[index:end].strip()
            index = end
        while index < length and text[index] in " \t":
            index += 1
        if index < length and text[index] != ",":
            return None
        params[name] = value
    return params


class DigestGate:
    """Issue Digest challenges and judge answers for the terminal's one account."""

    def __init__(
        self,
        *,
        realm: str,
        username: str,
        password: str,
        nonce_uses: int,
        max_bad_logins: int,
        lock_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Set the account, the quirk limits and the clock (monotonic seconds)."""
        self.realm = realm
        self.username = username
        self._password = password
        self.nonce_uses = nonce_uses
        self.max_bad_logins = max_bad_logins
        self.lock_seconds = lock_seconds
        self._clock = clock
        # Nonce -> times it has been presented; insertion order is age.
        self._nonces: dict[str, int] = {}
        self.bad_logins = 0
        self._locked_until: float | None = None

    def forget(self) -> None:
        """Drop every nonce and the lock, as a reboot does."""
        self._nonces.clear()
        self.bad_logins = 0
        self._locked_until = None

    def lock_remaining(self) -> float:
        """Return the seconds the account stays locked (0 when open)."""
        if self._locked_until is None:
            return 0.0
        remaining = self._locked_until - self._clock()
        if remaining <= 0:
            # The lock has run out: the next login starts with a clean count.
            self._locked_until = None
            self.bad_logins = 0
            return 0.0
        return remaining

    def challenge(self, *, stale: bool = False) -> str:
        """Return a ``WWW-Authenticate`` value with a fresh nonce."""
        nonce = secrets.token_hex(16)
        self._nonces[nonce] = 0
        while len(self._nonces) > _MAX_NONCES:
            del self._nonces[next(iter(self._nonces))]
        # Hikvision writes stale in capitals and quoted; RFC 7616 says clients
        # compare it case-insensitively.
        return (
            f'Digest qop="auth", realm="{self.realm}", nonce="{nonce}", '
            f'algorithm="MD5", stale="{"TRUE" if stale else "FALSE"}"'
        )

    def check(self, method: str, uri: str, authorization: str | None) -> AuthOutcome:
        """Judge a request's ``Authorization`` header against ``method`` and ``uri``."""
        if authorization is None:
            return AuthOutcome(Verdict.CHALLENGE)
        scheme, _, rest = authorization.strip().partition(" ")
        # Basic is refused outright, whatever it carries: only Digest logs in.
        if scheme.lower() != "digest":
            return AuthOutcome(Verdict.CHALLENGE)
        params = parse_digest_params(rest)
        if params is None:
            return AuthOutcome(Verdict.MALFORMED, reason="unparsable Digest header")
        if missing := _REQUIRED_PARAMS - params.keys():
            return AuthOutcome(
                Verdict.MALFORMED, reason=f"missing {', '.join(sorted(missing))}"
            )
        if params["qop"] != "auth":
            return AuthOutcome(Verdict.MALFORMED, reason="qop must be auth")
        if params.get("algorithm", "MD5").upper() != "MD5":
            return AuthOutcome(Verdict.MALFORMED, reason="algorithm must be MD5")
        if len(params["nc"]) != _NONCE_COUNT_LENGTH or not _is_hex(params["nc"]):
            return AuthOutcome(Verdict.MALFORMED, reason="nc must be 8 hex digits")
        # RFC 7616 §3.4.6: the digest covers the request-target; a different one
        # means the answer was made for another request.
        if params["uri"] != uri:
            return AuthOutcome(Verdict.MALFORMED, reason="uri is not the request's")

        nonce = params["nonce"]
        uses = self._nonces.get(nonce)
        if uses is None or uses >= self.nonce_uses:
            self._nonces.pop(nonce, None)
            return AuthOutcome(Verdict.STALE)
        # Every presentation uses the nonce up, whether the password is right or not.
        self._nonces[nonce] = uses + 1

        if (remaining := self.lock_remaining()) > 0:
            return AuthOutcome(Verdict.LOCKED, unlock_seconds=math.ceil(remaining))
        if (
            params["username"] == self.username
            and params["realm"] == self.realm
            and hmac.compare_digest(
                params["response"].lower(), self._expected_response(method, params)
            )
        ):
            self.bad_logins = 0
            return AuthOutcome(Verdict.ACCEPTED)

        self.bad_logins += 1
        if self.bad_logins >= self.max_bad_logins:
            self._locked_until = self._clock() + self.lock_seconds
            return AuthOutcome(
                Verdict.LOCKED, unlock_seconds=math.ceil(self.lock_seconds)
            )
        return AuthOutcome(
            Verdict.REJECTED, attempts_left=self.max_bad_logins - self.bad_logins
        )

    def _expected_response(self, method: str, params: dict[str, str]) -> str:
        """Compute the response a client knowing the password would send."""
        ha1 = md5_hex(f"{self.username}:{self.realm}:{self._password}")
        ha2 = md5_hex(f"{method}:{params['uri']}")
        return md5_hex(
            f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}"
        )


def _is_hex(text: str) -> bool:
    """Say whether ``text`` is made of hex digits only."""
    return all(char in "0123456789abcdefABCDEF" for char in text)
