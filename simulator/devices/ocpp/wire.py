"""Bind the charge-point side of the ``ocpp`` library to one websocket connection.

``CentralSystemLink`` is the library's ``ChargePoint`` (OCPP 1.6) with three
additions the simulator needs: requests from the central system are routed with
``@on`` to a ``CentralRequests`` object (the device) whose follow-up work starts
only after the answer is on the wire; every CALLERROR is recorded; and raw frames
can be written with their reply caught by unique id, bypassing the library's
response queue (which would otherwise hand a stray reply to the next call).

The ``ocpp`` package ships no type information; this module is where its
``Any`` stops, so the device itself stays strictly typed.
"""

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
import json
import logging
from typing import Any, Final, Protocol, cast, override

from ocpp.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    OCPPError,
    UnknownCallErrorCodeError,
)
from ocpp.routing import on as _on  # type: ignore[import-untyped, unused-ignore]
from ocpp.v16 import (  # type: ignore[import-untyped, unused-ignore]
    ChargePoint as _ChargePoint,
    call,
    call_result,
    datatypes,
)
from ocpp.v16.enums import Action  # type: ignore[import-untyped, unused-ignore]
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from simulator.jsonvalue import JSONObject, JSONValue

__all__ = [
    "CallErrorReplyError",
    "CentralRequests",
    "CentralSystemLink",
    "LinkDownError",
    "Reply",
    "call",
    "call_result",
    "datatypes",
]

_LOGGER: Final = logging.getLogger(__name__)

_CALL: Final = 2
_CALL_RESULT: Final = 3
_CALL_ERROR: Final = 4


class LinkDownError(Exception):
    """Say that the connection to the central system is gone."""


class CallErrorReplyError(Exception):
    """Carry the CALLERROR the central system answered a call with."""

    def __init__(self, code: str, description: str, details: JSONValue) -> None:
        """Keep the error code, its description and details."""
        self.code = code
        self.description = description
        self.details = details
        super().__init__(f"{code}: {description}")

    def to_json(self) -> JSONObject:
        """Return the error as the control API shows it."""
        return {
            "code": self.code,
            "description": self.description,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer a central-system request, then (after it is sent) do ``then``."""

    # An ``ocpp.v16.call_result`` instance.
    payload: object
    then: Callable[[], Awaitable[None]] | None = None


class CentralRequests(Protocol):
    """Serve what the central system asks of the charge point."""

    def remote_start(self, id_tag: str, connector_id: int | None) -> Reply:
        """Answer RemoteStartTransaction."""
        ...

    def remote_stop(self, transaction_id: int) -> Reply:
        """Answer RemoteStopTransaction."""
        ...

    def change_availability(self, connector_id: int, kind: str) -> Reply:
        """Answer ChangeAvailability (Operative or Inoperative)."""
        ...

    def reset(self, kind: str) -> Reply:
        """Answer Reset (Soft or Hard)."""
        ...

    def unlock(self, connector_id: int) -> Reply:
        """Answer UnlockConnector."""
        ...

    def data_transfer(self, vendor_id: str) -> Reply:
        """Answer DataTransfer."""
        ...

    def get_configuration(self, keys: list[str] | None) -> Reply:
        """Answer GetConfiguration."""
        ...

    def change_configuration(self, key: str, value: str) -> Reply:
        """Answer ChangeConfiguration."""
        ...

    def trigger(self, message: str, connector_id: int | None) -> Reply:
        """Answer TriggerMessage."""
        ...

    def received(self, action: str, payload: JSONValue) -> None:
        """Record a request from the central system."""
        ...

    def call_error(self, error: JSONObject) -> None:
        """Record a CALLERROR from the central system."""
        ...

    def spawn(self, job: Callable[[], Awaitable[None]], name: str) -> None:
        """Run a follow-up job in the background, logging its failure."""
        ...


def on[Handler: Callable[..., Any]](action: str) -> Callable[[Handler], Handler]:
    """Route a central-system request to the decorated method (``ocpp.routing.on``)."""
    return cast(Callable[[Handler], Handler], _on(action))


class _FrameLogger(logging.LoggerAdapter[logging.Logger]):
    """Log the library's per-frame lines at DEBUG; keep its warnings as they are."""

    @override
    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Demote a frame line to DEBUG: meter values would flood INFO."""
        self.debug(msg, *args, **kwargs)

    @override
    def process(
        self, msg: object, kwargs: MutableMapping[str, Any]
    ) -> tuple[object, MutableMapping[str, Any]]:
        """Leave the message as it is."""
        return msg, kwargs


class CentralSystemLink(_ChargePoint):  # type: ignore[misc]
    """Play the charge point on one connection, with the ``ocpp`` library."""

    def __init__(
        self,
        charge_point_id: str,
        connection: ClientConnection,
        handler: CentralRequests,
        *,
        timeout: float,
    ) -> None:
        """Wrap an open connection; nothing is read until ``serve``."""
        super().__init__(
            charge_point_id,
            connection,
            response_timeout=timeout,
            logger=_FrameLogger(logging.getLogger(f"{__name__}.frames")),
        )
        self.connection = connection
        self.closed = asyncio.Event()
        self._handler = handler
        self._follow_ups: list[Callable[[], Awaitable[None]]] = []
        self._waiters: dict[str, asyncio.Future[JSONValue]] = {}

    async def serve(self) -> None:
        """Read and answer frames until the connection closes."""
        try:
            await self.start()
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            for future in self._waiters.values():
                if not future.done():
                    future.set_exception(LinkDownError("the connection closed"))
            self._waiters.clear()

    @override
    async def route_message(self, raw_msg: str | bytes) -> None:
        """Catch raw replies and CALLERRORs; answer requests, then follow up."""
        try:
            message = json.loads(raw_msg)
        except ValueError:
            _LOGGER.warning(
                "%s: ignored a frame that is not JSON: %r", self.id, raw_msg
            )
            return
        if not isinstance(message, list) or len(message) < 3:
            _LOGGER.warning(
                "%s: ignored a frame that is not OCPP: %r", self.id, raw_msg
            )
            return
        kind, unique_id = message[0], message[1]
        if kind == _CALL_ERROR:
            self._handler.call_error(
                {
                    "unique_id": unique_id,
                    "code": message[2],
                    "description": message[3] if len(message) > 3 else None,
                    "details": message[4] if len(message) > 4 else None,
                }
            )
        if kind == _CALL and len(message) > 3:
            self._handler.received(str(message[2]), message[3])
        if kind in (_CALL_RESULT, _CALL_ERROR) and (
            future := self._waiters.pop(str(unique_id), None)
        ):
            if not future.done():
                future.set_result(message)
            return
        self._follow_ups = []
        await super().route_message(raw_msg)
        follow_ups, self._follow_ups = self._follow_ups, []
        for job in follow_ups:
            self._handler.spawn(job, f"{self.id}-after-{message[2]}")

    def _answer(self, reply: Reply) -> object:
        """Keep the reply's follow-up for after the answer and return the answer."""
        if reply.then is not None:
            self._follow_ups.append(reply.then)
        return reply.payload

    # --- calls to the central system ----------------------------------------------

    async def request(self, payload: object) -> Any:
        """Send a call and return its answer (an ``ocpp.v16.call_result``).

        Raise ``LinkDownError`` if the connection closes first,
        ``CallErrorReplyError`` for a CALLERROR and ``TimeoutError`` without an
        answer in time.
        """
        if self.closed.is_set():
            raise LinkDownError("the connection closed")
        calling = asyncio.ensure_future(self.call(payload, suppress=False))
        closing = asyncio.ensure_future(self.closed.wait())
        try:
            done, _ = await asyncio.wait(
                {calling, closing}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in (calling, closing):
                if not task.done():
                    task.cancel()
            await asyncio.gather(calling, closing, return_exceptions=True)
        if calling not in done:
            raise LinkDownError("the connection closed before the answer")
        try:
            return calling.result()
        except OCPPError as error:
            raise CallErrorReplyError(
                str(error.code), str(error.description), _json(error.details)
            ) from None
        except UnknownCallErrorCodeError as error:
            raise CallErrorReplyError("Unknown", str(error), None) from None
        except ConnectionClosed as error:
            raise LinkDownError(str(error)) from None

    async def exchange(
        self, text: str, unique_id: str | None, wait: float
    ) -> JSONValue:
        """Write a raw frame; return the reply with ``unique_id`` (None if none)."""
        if self.closed.is_set():
            raise LinkDownError("the connection closed")
        # One call in flight at a time, raw or not, as OCPP 1.6 requires.
        async with self._call_lock:
            if unique_id is None:
                await self._send_raw(text)
                return None
            future: asyncio.Future[JSONValue] = (
                asyncio.get_running_loop().create_future()
            )
            self._waiters[unique_id] = future
            try:
                await self._send_raw(text)
                async with asyncio.timeout(wait):
                    return await future
            except TimeoutError:
                return None
            finally:
                self._waiters.pop(unique_id, None)

    async def _send_raw(self, text: str) -> None:
        """Write one text frame as it is."""
        try:
            await self._send(text)
        except ConnectionClosed as error:
            raise LinkDownError(str(error)) from None

    # --- requests from the central system ---------------------------------------

    @on(Action.remote_start_transaction)
    def on_remote_start_transaction(
        self, id_tag: str, connector_id: int | None = None, **_: Any
    ) -> object:
        """Start a transaction the central system asks for."""
        return self._answer(self._handler.remote_start(id_tag, connector_id))

    @on(Action.remote_stop_transaction)
    def on_remote_stop_transaction(self, transaction_id: int, **_: Any) -> object:
        """Stop a transaction the central system asks to stop."""
        return self._answer(self._handler.remote_stop(transaction_id))

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_: Any) -> object:
        """Make ports operative or inoperative."""
        return self._answer(self._handler.change_availability(connector_id, type))

    @on(Action.reset)
    def on_reset(self, type: str, **_: Any) -> object:
        """Reboot the charge point."""
        return self._answer(self._handler.reset(type))

    @on(Action.unlock_connector)
    def on_unlock_connector(self, connector_id: int, **_: Any) -> object:
        """Release a plug, ending its transaction."""
        return self._answer(self._handler.unlock(connector_id))

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> object:
        """Answer a vendor-specific message."""
        return self._answer(self._handler.data_transfer(vendor_id))

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> object:
        """Report configuration keys."""
        return self._answer(self._handler.get_configuration(key))

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_: Any) -> object:
        """Change a configuration key."""
        return self._answer(self._handler.change_configuration(key, value))

    @on(Action.trigger_message)
    def on_trigger_message(
        self, requested_message: str, connector_id: int | None = None, **_: Any
    ) -> object:
        """Send a message the central system asks for."""
        return self._answer(self._handler.trigger(requested_message, connector_id))


def _json(value: object) -> JSONValue:
    """Return ``value`` if it is JSON, else its text."""
    try:
        return cast(JSONValue, json.loads(json.dumps(value)))
    except TypeError, ValueError:
        return str(value)
