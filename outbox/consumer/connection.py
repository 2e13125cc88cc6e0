"""A consumer's robust broker connection that says once when the broker goes, once when it is back.

aio-pika retries by itself and logs every failed attempt (boundbox.logs keeps those records out
of the log and hands each attempt's error to `attempt_failed`); this connection turns attempts,
losses and reconnections into one line per change of state, naming the broker without password.
"""

from __future__ import annotations

import logging
import time

from aio_pika import RobustConnection
from yarl import URL

from outbox.amqp import broker_address, describe_broker_error

log = logging.getLogger("boundbox.consumer")


class ReportingConnection(RobustConnection):
    """A `RobustConnection` (open it with `connect()`) that retries from its first attempt on
    and logs each change between up and down once."""

    def __init__(self, url: str, *, name: str, reconnect_interval: float = 1.0) -> None:
        super().__init__(
            URL(url),
            client_properties={"connection_name": name},
            reconnect_interval=reconnect_interval,
            fail_fast=False,
        )
        self.address = broker_address(url)
        self._url = url
        self._up: bool | None = None  # None: nothing known yet
        self._down_since = 0.0
        self.close_callbacks.add(self._on_lost)

    async def _on_connected(self) -> None:
        await super()._on_connected()
        self._report_up()

    def attempt_failed(self, error: BaseException) -> None:
        """A connection attempt (or the set-up on a new connection) failed with `error`."""
        self._report_down(describe_broker_error(error, self._url))

    def _on_lost(self, _: object, error: BaseException | None = None) -> None:
        if error is not None and not self._close_called:
            self._report_down(describe_broker_error(error, self._url))

    def _report_up(self) -> None:
        if self._up:
            return
        if self._up is None:
            log.info("broker %s up", self.address)
        else:
            down_for = time.monotonic() - self._down_since
            log.info("broker %s up again after %.1fs", self.address, down_for)
        self._up = True

    def _report_down(self, reason: str) -> None:
        if self._up is False:
            return
        self._up, self._down_since = False, time.monotonic()
        log.warning(
            "broker %s down: %s (retrying every %gs; one line again when it is back)",
            self.address,
            reason,
            self.reconnect_interval,
        )
