"""Define the errors of the OCPP 1.6J central system."""

from enum import StrEnum


class ErrorCode(StrEnum):
    """Name the error codes a CALLERROR may carry, as OCPP-J 1.6 spells them.

    1.6 writes "FormationViolation" and "OccurenceConstraintViolation"; 2.0
    renamed them, and a 1.6 charge point may not know the new names.
    """

    NOT_IMPLEMENTED = "NotImplemented"
    NOT_SUPPORTED = "NotSupported"
    INTERNAL_ERROR = "InternalError"
    PROTOCOL_ERROR = "ProtocolError"
    SECURITY_ERROR = "SecurityError"
    FORMATION_VIOLATION = "FormationViolation"
    PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
    OCCURENCE_CONSTRAINT_VIOLATION = "OccurenceConstraintViolation"
    TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
    GENERIC_ERROR = "GenericError"


class OcppError(Exception):
    """Signal anything wrong in OCPP traffic."""


class MessageError(OcppError):
    """Report a message that breaks OCPP-J framing or its action's schema.

    ``code`` is what a CALLERROR answers with; ``unique_id`` is the message's
    ID when one could be read (None: the message cannot be answered).
    """

    def __init__(
        self, code: ErrorCode, detail: str, unique_id: str | None = None
    ) -> None:
        """Keep the error code, the detail and the message ID."""
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.unique_id = unique_id


class CallRefusedError(OcppError):
    """Refuse a request: the central system answers it with a CALLERROR.

    Handlers raise it for requests that pass the schema but still cannot be
    taken, such as a timestamp that is not a date or a connector the station
    does not have.
    """

    def __init__(self, code: ErrorCode, description: str) -> None:
        """Keep the error code and a description for the charge point."""
        super().__init__(description)
        self.code = code
        self.description = description


class CallErrorReceivedError(OcppError):
    """Report that a charge point answered our request with a CALLERROR."""

    def __init__(self, action: str, code: str, description: str) -> None:
        """Keep the action, and the code and description the charge point sent."""
        super().__init__(f"{action} was answered with {code}: {description}")
        self.action = action
        self.code = code
        self.description = description


class CallTimeoutError(OcppError):
    """Report that a charge point did not answer a request in time."""

    def __init__(self, action: str, timeout: float) -> None:
        """Keep the action and how long we waited."""
        super().__init__(f"{action} got no answer within {timeout:g} s")
        self.action = action
        self.timeout = timeout


class NotConnectedError(OcppError):
    """Report a request to a charge point that has no open connection."""

    def __init__(self, charge_point_id: str) -> None:
        """Keep the charge point's ID."""
        super().__init__(f"charge point {charge_point_id!r} is not connected")
        self.charge_point_id = charge_point_id


class InvalidResponseError(OcppError):
    """Report an answer whose payload breaks its action's response schema."""

    def __init__(self, action: str, detail: str) -> None:
        """Keep the action and what is wrong with the answer."""
        super().__init__(f"the answer to {action} is not valid: {detail}")
        self.action = action
        self.detail = detail
