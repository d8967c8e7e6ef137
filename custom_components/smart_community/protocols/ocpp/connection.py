"""Hold one charge point's OCPP-J session: answer its requests, send ours.

Requests from the charge point are checked against their schema, passed to
the handler synchronously on the event loop, and answered in the order they
came. Our own requests go out one at a time, as OCPP-J asks: the next waits
until the charge point has answered the last, or the wait has timed out.
"""

import asyncio
from collections.abc import Callable
from enum import StrEnum
import logging
from typing import Final, Protocol
from uuid import uuid4

from .errors import (
    CallErrorReceivedError,
    CallRefusedError,
    CallTimeoutError,
    ErrorCode,
    InvalidResponseError,
    MessageError,
    NotConnectedError,
)
from .messages import (
    Call,
    CallError,
    CallResult,
    Message,
    Payload,
    decode_message,
    encode_message,
)
from .schemas import check_request, check_response

_LOGGER: Final = logging.getLogger(__name__)

DEFAULT_CALL_TIMEOUT: Final = 30.0


class Problem(StrEnum):
    """Name what went wrong with a charge point, its connection or the handler."""

    MALFORMED = "malformed"
    SCHEMA_VIOLATION = "schema_violation"
    UNSUPPORTED_ACTION = "unsupported_action"
    REFUSED = "refused"
    HANDLER_FAILED = "handler_failed"
    UNEXPECTED_ANSWER = "unexpected_answer"
    INVALID_ANSWER = "invalid_answer"
    BINARY_FRAME = "binary_frame"
    UNKNOWN_CHARGE_POINT = "unknown_charge_point"
    AUTH_FAILED = "auth_failed"
    NO_SUBPROTOCOL = "no_subprotocol"
    REPLACED = "replaced"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    CONNECTION_ERROR = "connection_error"
    IDLE = "idle"


type ProblemSink = Callable[[Problem, str | None, str, str], None]
"""Hear a problem: what, the charge point (None if unknown), the peer, detail."""


class Transport(Protocol):
    """Carry text frames to a charge point; the server supplies one per socket."""

    async def send_text(self, text: str) -> None:
        """Send one text frame."""

    async def close(self) -> None:
        """Close the connection."""


class RequestHandler(Protocol):
    """Answer a charge point's requests; synchronous, on the event loop."""

    def handle_request(
        self, connection: ChargePointConnection, action: str, payload: Payload
    ) -> Payload:
        """Return the answer's payload, or raise CallRefusedError."""


class ChargePointConnection:
    """Speak OCPP-J with one connected charge point."""

    def __init__(
        self,
        charge_point_id: str,
        peer: str,
        transport: Transport,
        handler: RequestHandler,
        problem: ProblemSink,
        *,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        """Bind a charge point's socket to the handler of its requests."""
        self.charge_point_id = charge_point_id
        self.peer = peer
        self.call_timeout = call_timeout
        self._transport = transport
        self._handler = handler
        self._problem = problem
        self._call_lock = asyncio.Lock()
        # The one request of ours awaiting its answer: (unique ID, action, answer).
        self._pending: tuple[str, str, asyncio.Future[Message]] | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """Say whether the connection has ended."""
        return self._closed

    async def receive(self, text: str) -> None:
        """Take one text frame from the charge point."""
        try:
            message = decode_message(text)
        except MessageError as error:
            self._report(Problem.MALFORMED, error.detail)
            if error.unique_id is not None:
                await self._send(CallError(error.unique_id, error.code, error.detail))
            return
        match message:
            case Call():
                await self._send(self._answer(message))
            case CallResult() | CallError():
                self._take_answer(message)

    def _answer(self, call: Call) -> CallResult | CallError:
        """Work out the answer to a request."""
        try:
            check_request(call.unique_id, call.action, call.payload)
        except MessageError as error:
            unsupported = error.code in (
                ErrorCode.NOT_IMPLEMENTED,
                ErrorCode.NOT_SUPPORTED,
            )
            self._report(
                Problem.UNSUPPORTED_ACTION if unsupported else Problem.SCHEMA_VIOLATION,
                f"{call.action}: {error.detail}",
            )
            return CallError(call.unique_id, error.code, error.detail)
        try:
            payload = self._handler.handle_request(self, call.action, call.payload)
        except CallRefusedError as error:
            self._report(Problem.REFUSED, f"{call.action}: {error.description}")
            return CallError(call.unique_id, error.code, error.description)
        except Exception:
            _LOGGER.exception(
                "%s: handling %s failed", self.charge_point_id, call.action
            )
            self._report(Problem.HANDLER_FAILED, call.action)
            return CallError(
                call.unique_id, ErrorCode.INTERNAL_ERROR, f"{call.action} failed"
            )
        return CallResult(call.unique_id, payload)

    def _take_answer(self, answer: CallResult | CallError) -> None:
        """Hand an answer to the request waiting for it."""
        pending = self._pending
        if pending is None or pending[0] != answer.unique_id:
            self._report(
                Problem.UNEXPECTED_ANSWER,
                f"an answer to {answer.unique_id!r}, which is not awaited",
            )
            return
        if not pending[2].done():
            pending[2].set_result(answer)

    async def call(self, action: str, payload: Payload) -> Payload:
        """Send a request and return the charge point's answer.

        Raises NotConnectedError, CallTimeoutError, CallErrorReceivedError, or
        InvalidResponseError when the answer breaks its schema.
        """
        wait = self.call_timeout
        async with self._call_lock:
            if self._closed:
                raise NotConnectedError(self.charge_point_id)
            unique_id = uuid4().hex
            answer: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
            self._pending = (unique_id, action, answer)
            try:
                await self._send(Call(unique_id, action, payload))
                async with asyncio.timeout(wait):
                    message = await answer
            except TimeoutError:
                raise CallTimeoutError(action, wait) from None
            finally:
                self._pending = None
                # A failed send closes the connection, which fails the answer
                # nobody will await now; mark it seen so asyncio does not log it.
                if answer.done() and not answer.cancelled():
                    answer.exception()
        if isinstance(message, CallError):
            raise CallErrorReceivedError(action, message.code, message.description)
        try:
            check_response(action, message.payload)
        except MessageError as error:
            self._report(Problem.INVALID_ANSWER, f"{action}: {error.detail}")
            raise InvalidResponseError(action, error.detail) from None
        return message.payload

    async def _send(self, message: Message) -> None:
        """Write a frame; a failed write ends the connection."""
        if self._closed:
            raise NotConnectedError(self.charge_point_id)
        try:
            await self._transport.send_text(encode_message(message))
        except (ConnectionError, RuntimeError) as error:
            self._report(Problem.CONNECTION_ERROR, f"sending failed: {error}")
            await self.close()
            raise NotConnectedError(self.charge_point_id) from error

    async def close(self) -> None:
        """Close the connection; a request awaiting its answer gets NotConnected."""
        if self._closed:
            return
        self._closed = True
        if self._pending is not None and not self._pending[2].done():
            self._pending[2].set_exception(NotConnectedError(self.charge_point_id))
        await self._transport.close()

    def _report(self, problem: Problem, detail: str) -> None:
        """Tell the problem sink, which decides what to log."""
        self._problem(problem, self.charge_point_id, self.peer, detail)
