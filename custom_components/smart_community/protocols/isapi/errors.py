"""Define the errors raised by the Hikvision ISAPI client."""

from datetime import timedelta


class IsapiError(Exception):
    """Signal any failure talking to a Hikvision ISAPI device."""


class IsapiConnectionError(IsapiError):
    """Report that the device could not be reached or dropped the connection."""


class IsapiConnectionTimeoutError(IsapiConnectionError):
    """Report that the device did not answer in time."""


class IsapiStreamClosedError(IsapiConnectionError):
    """Report that the alert stream ended; a part cut short by it is discarded."""


class IsapiStreamBusyError(IsapiConnectionError):
    """Report that the device still holds the previous alert stream's slot (404)."""


class IsapiInvalidResponseError(IsapiError):
    """Report an answer that cannot be understood (bad JSON, XML or multipart)."""


class IsapiAuthError(IsapiError):
    """Report that the device refused the credentials.

    ``attempts_left`` is how many more failures the device allows before it locks
    the account, when the device says so (``retryLoginTime``).
    """

    def __init__(self, message: str, *, attempts_left: int | None = None) -> None:
        """Keep the message and the attempts left before a lockout."""
        super().__init__(message)
        self.attempts_left = attempts_left


class IsapiLockedError(IsapiError):
    """Report that the device locked the account after failed logins.

    Retrying before ``unlock_in`` has passed only lengthens the lockout, so the
    client never retries this by itself.
    """

    def __init__(self, unlock_in: timedelta) -> None:
        """Keep how long until the device accepts logins again."""
        super().__init__(
            f"The device locked the account; it unlocks in {int(unlock_in.total_seconds())} s"
        )
        self.unlock_in = unlock_in


class IsapiResponseError(IsapiError):
    """Report a request the device refused, with its ResponseStatus.

    ``http_status`` is the HTTP status; ``status_code``, ``sub_status_code`` and
    ``message`` come from the device's ResponseStatus (``statusCode``,
    ``subStatusCode``, ``errorMsg`` or ``statusString``) when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        status_code: int | None = None,
        sub_status_code: str | None = None,
    ) -> None:
        """Keep the device's status fields."""
        details = ", ".join(
            part
            for part in (
                f"HTTP {http_status}" if http_status is not None else "",
                f"statusCode {status_code}" if status_code is not None else "",
                sub_status_code or "",
            )
            if part
        )
        super().__init__(f"{message} ({details})" if details else message)
        self.message = message
        self.http_status = http_status
        self.status_code = status_code
        self.sub_status_code = sub_status_code


class IsapiNotFoundError(IsapiResponseError):
    """Report something the device does not have: an item, an endpoint or a function."""


class IsapiNotSupportedError(IsapiNotFoundError):
    """Report an endpoint or function the device does not have (404, notSupport)."""


class IsapiCapacityError(IsapiResponseError):
    """Report that the device's person, face or card storage is full."""


class IsapiFaceRejectedError(IsapiResponseError):
    """Report a face picture the device refused (quality, size, no face found)."""


class IsapiAlreadyExistsError(IsapiResponseError):
    """Report a person or face that the device already has."""
