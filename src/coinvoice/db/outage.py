"""What a database outage looks like from asyncpg, and one log line per outage for the background jobs.

PostgreSQL stopped or unreachable shows up as a refused or reset connection (OSError), a connect timeout, a
connection that died mid-query, the server's "terminating connection due to administrator command" (57P01) or
"the database system is starting up" (57P03). The API answers all of them with 503; the jobs back off.
"""

from __future__ import annotations

import logging
import re
import time

import asyncpg

#: Exceptions meaning "the database is not reachable right now", as opposed to a bug or a bad query.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.InterfaceError,
)


#: InterfaceError texts of a connection that died under us (not of misuse such as a released proxy).
_LOST = re.compile(r"connection (is|was) closed|connection has been closed")


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.InterfaceError):
        # "connection is closed", "connection was closed in the middle of operation"; not misuse of the API
        return _LOST.search(str(exc)) is not None
    return isinstance(exc, OUTAGE_ERRORS)


#: Seconds after a recovery in which a new failure counts as the same outage (a connection opened before the
#: outage failing late, or a database that flaps while it starts up): no second pair of log lines for it.
SETTLE_SECONDS = 10.0


class OutageTracker:
    """Shared by the jobs of a process: the first failure logs one warning, the first success after it one info
    line; meanwhile every job waits out a doubling back-off (``base`` up to ``cap`` seconds) before trying again.
    A failure within ``SETTLE_SECONDS`` of a recovery reopens that outage quietly instead of logging a new one."""

    def __init__(
        self, log: logging.Logger, meanwhile: str = "background jobs back off", base: float = 0.5, cap: float = 5.0
    ) -> None:
        self._log = log
        self._meanwhile = meanwhile
        self._base = base
        self._cap = cap
        self._since: float | None = None
        self._delay = base
        self._next_try = 0.0
        self._recovered_at: float | None = None
        self._last_since = 0.0
        self._quiet = False  # reopened within the settle time: its end is not logged again
        self.failures = 0

    @property
    def down(self) -> bool:
        return self._since is not None

    def should_try(self) -> bool:
        """False while inside the back-off of an outage: the job skips this run."""
        return self._since is None or time.monotonic() >= self._next_try

    def failed(self, what: str, exc: BaseException) -> None:
        now = time.monotonic()
        self.failures += 1
        if self._since is None and self._recovered_at is not None and now - self._recovered_at < SETTLE_SECONDS:
            self._since, self._quiet = self._last_since, True
            self._delay = self._base
        elif self._since is None:
            self._since = now
            self._quiet = False
            self._delay = self._base
            self._log.warning(
                "database unavailable (%s: %s, in %s); %s until it returns",
                type(exc).__name__,
                str(exc)[:200] or "no detail",
                what,
                self._meanwhile,
            )
        else:
            self._delay = min(self._delay * 2, self._cap)
        self._next_try = now + self._delay

    def succeeded(self) -> None:
        if self._since is not None and self._quiet:
            self._since, self._quiet = None, False
            self._recovered_at = time.monotonic()
            self.failures = 0
        elif self._since is not None:
            self._last_since = self._since
            self._recovered_at = time.monotonic()
            self._log.info(
                "database reachable again after %.1f s (%d failed tries)",
                time.monotonic() - self._since,
                self.failures,
            )
            self._since = None
            self.failures = 0
