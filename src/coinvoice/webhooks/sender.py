"""The webhook sender: claims due deliveries, POSTs signed events, records every attempt, retries with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import Counter, deque
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg

from coinvoice.config import Settings
from coinvoice.db import webhooks as db
from coinvoice.db.outage import is_outage
from coinvoice.domain.errors import Invalid
from coinvoice.logcontext import log_fields
from coinvoice.net.urlcheck import check_webhook_url
from coinvoice.services.tokens import secret_key_from_salt
from coinvoice.webhooks.signing import signature_headers

log = logging.getLogger(__name__)
MAX_ERROR = 500
#: Bytes of the receiver's answer kept per attempt (shown in the dashboard).
MAX_EXCERPT = 500
#: While requests are in flight, a few finished attempts wait this long for others to share their statement.
FLUSH_GATHER_SECONDS = 0.015
MIN_TIMER_SECONDS = 0.05
MAX_CACHED = 10_000  # secret keys and checked URLs remembered, per sender
#: Claimed ahead of the free slots, in multiples of the concurrency: in all, and per endpoint. An endpoint is
#: claimed for again when a concurrency's worth of its hold is free (batches, not a claim per delivery); the
#: total leaves room for other endpoints' deliveries beside one busy endpoint's full hold. The lease grows with
#: the hold (a held delivery may wait for the endpoint's requests before its own), and with it the time a dead
#: sender's claims take to come back: 3x per endpoint measured no faster here, so it stays 2x.
CLAIM_AHEAD = 3
HOLD_PER_ENDPOINT = 2  # never a tight loop, even when a due row is held by another sender


def retry_delay(settings: Settings, attempts: int, rand: random.Random | None = None) -> float:
    """Seconds before retry number ``attempts`` (1 = after the first failure): base doubling to max, +-20%."""
    base = min(settings.webhook_retry_max_seconds, settings.webhook_retry_base_seconds * 2 ** min(attempts - 1, 30))
    return base * (rand or random).uniform(0.8, 1.2)


class WebhookSender:
    """One per worker process; any number of them share the queue through PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool, http: aiohttp.ClientSession, settings: Settings):
        self.pool = pool
        self.http = http
        self.settings = settings
        self.token = uuid.uuid4()  # this sender's claims
        self._inflight: dict[uuid.UUID, tuple[asyncio.Task[db.Outcome], uuid.UUID]] = {}  # id -> (task, company)
        self._ready: deque[db.Claimed] = deque()  # claimed, waiting for a free slot
        self._held: Counter[uuid.UUID] = Counter()  # claimed and not yet finished, per company (endpoint)
        self._flying: Counter[uuid.UUID] = Counter()  # requests in flight, per company (endpoint)
        self._timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds)
        self._key_of: dict[bytes, str] = {}  # secret keys derived from their salts (an HMAC each time otherwise)
        self._parsed_urls: set[str] = set()  # webhook URLs that passed check_webhook_url (private ones allowed)
        self._changed = asyncio.Event()
        self._news = True  # something may have fallen due that the last claim did not see
        self._draining = False
        self._timer: asyncio.TimerHandle | None = None
        self._wakers: set[asyncio.Task[None]] = set()
        self._outcomes: list[db.Outcome] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def lease_seconds(self) -> float:
        # a dead sender's claims come back after this; a claim may wait for its endpoint's requests before
        # its own: as many timeouts as rounds of the endpoint's limit fit in what one endpoint may hold, plus one
        held = HOLD_PER_ENDPOINT * self.settings.webhook_concurrency
        rounds = -(-held // self._endpoint_limit)
        return self.settings.webhook_timeout_seconds * (rounds + 1) + 1

    @property
    def _endpoint_limit(self) -> int:
        return min(self.settings.webhook_endpoint_concurrency, self.settings.webhook_concurrency)

    def wake(self, *_: object) -> None:
        """Deliver promptly (a NOTIFY arrived, or a retry fell due)."""
        if self._closed:
            return
        self._news = True
        if self._draining:
            self._changed.set()
            return
        task = asyncio.get_running_loop().create_task(self.drain())
        self._wakers.add(task)
        task.add_done_callback(self._woken)

    def _woken(self, task: asyncio.Task[None]) -> None:
        self._wakers.discard(task)
        if task.cancelled() or (exc := task.exception()) is None:
            return
        if is_outage(exc):  # the polling job meets the outage too, and logs it once for the process
            log.debug("webhook drain stopped by a database outage: %s", exc)
        else:
            log.error("webhook drain crashed", exc_info=exc)

    async def drain(self) -> None:
        """Send everything due now, keeping up to ``webhook_concurrency`` requests in flight."""
        self._news = True
        if self._draining or self._closed:
            self._changed.set()
            return
        self._draining = True
        try:
            while not self._closed:
                self._changed.clear()
                claimed: list[db.Claimed] = []
                skipped = bool(self._held)  # endpoints with deliveries held may be skipped by this claim
                if room := self._claim_room():
                    claimed = await self._claim(room)
                if not self._inflight and not self._ready and not self._recording:
                    if skipped and not claimed:
                        continue  # they finished meanwhile: claim once more without skipping any
                    break
                await self._changed.wait()
        finally:
            self._draining = False
        await self._schedule_next()

    def _claim_room(self) -> int:
        """How many to claim now (0: not now). Claim ahead (up to CLAIM_AHEAD times the slots) in batches of
        half the slots or more, so that slots never wait for the database while work is due."""
        conc = self.settings.webhook_concurrency
        room = CLAIM_AHEAD * conc - len(self._inflight) - len(self._ready)
        if (room >= max(1, conc // 2) or (room > 0 and not self._inflight and not self._ready)) and (
            self._news or self._freed()
        ):
            return room
        return 0

    def _freed(self) -> bool:
        """Whether an endpoint this sender holds deliveries of may be claimed for again (see _claim)."""
        hold, conc = HOLD_PER_ENDPOINT * self.settings.webhook_concurrency, self.settings.webhook_concurrency
        return not self._held or any(n <= hold - conc for n in self._held.values())

    async def _claim(self, room: int) -> list[db.Claimed]:
        """Claim up to ``room`` due deliveries, per endpoint (company) at most HOLD_PER_ENDPOINT times the global concurrency held
        (its endpoint limit in flight, the rest waiting for it). An endpoint is claimed for again only when the
        concurrency's worth is free: one busy endpoint makes batches, not a claim per delivery, and never holds
        so much that others' deliveries cannot be claimed (the claim-ahead is CLAIM_AHEAD times the concurrency)."""
        conc = self.settings.webhook_concurrency
        free = {c: HOLD_PER_ENDPOINT * conc - n for c, n in self._held.items()}
        free = {c: n if n >= conc else 0 for c, n in free.items()}
        self._news = False
        claimed = await db.claim_due(
            self.pool, room, self.lease_seconds, self.token, per_company=HOLD_PER_ENDPOINT * conc, free=free
        )
        if len(claimed) == room:
            self._news = True  # cut by room: more may be due
        for c in claimed:
            self._held[c.company_id] += 1
        self._ready.extend(claimed)
        self._start_ready()
        return claimed

    def _release_hold(self, company_id: uuid.UUID) -> None:
        self._held[company_id] -= 1
        if self._held[company_id] <= 0:
            del self._held[company_id]

    def _done(self, task: asyncio.Task[db.Outcome]) -> None:
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:  # a bug, not a delivery failure: the lease brings it back
            log.error("webhook delivery task crashed", exc_info=exc)
            for key, (t, _) in list(self._inflight.items()):
                if t is task:
                    self._free_slot(key)
            self._start_ready()
            self._changed.set()
            return
        outcome = task.result()
        self._free_slot(outcome.id)  # the row stays leased until its outcome is recorded
        self._start_ready()
        self._outcomes.append(outcome)
        if not self._inflight or self._claim_room():  # else the drain loop has nothing new to do
            self._changed.set()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    def _free_slot(self, delivery_id: uuid.UUID) -> None:
        if (entry := self._inflight.pop(delivery_id, None)) is not None:
            company_id = entry[1]
            self._release_hold(company_id)
            self._flying[company_id] -= 1
            if self._flying[company_id] <= 0:
                del self._flying[company_id]

    def _start_ready(self) -> None:
        """Start waiting deliveries while slots are free, none beyond its endpoint's limit in flight."""
        conc, limit = self.settings.webhook_concurrency, self._endpoint_limit
        if not self._ready or len(self._inflight) >= conc or self._closed:
            return
        flying = self._flying
        waiting: deque[db.Claimed] = deque()
        while self._ready and len(self._inflight) < conc:
            claimed = self._ready.popleft()
            if flying[claimed.company_id] >= limit:
                waiting.append(claimed)  # its endpoint is busy: keep its place, let others pass
                continue
            flying[claimed.company_id] += 1
            task = asyncio.get_running_loop().create_task(self._deliver(claimed))
            self._inflight[claimed.id] = (task, claimed.company_id)
            task.add_done_callback(self._done)
        waiting.extend(self._ready)
        self._ready = waiting

    @property
    def _recording(self) -> bool:
        return bool(self._outcomes) or (self._flusher is not None and not self._flusher.done())

    async def _flush(self) -> None:
        """Record finished attempts, many per statement when they finish together."""
        while self._outcomes:
            if len(self._outcomes) < self.settings.webhook_concurrency and self._inflight and not self._closed:
                await asyncio.sleep(FLUSH_GATHER_SECONDS)  # more are about to finish: one statement for them all
            batch, self._outcomes = self._outcomes, []
            try:
                await db.finish(self.pool, self.token, batch)
            except (OSError, asyncpg.PostgresError) as exc:  # the leases run out and these are retried
                level = logging.INFO if is_outage(exc) else logging.WARNING  # an outage is logged once elsewhere
                log.log(level, "could not record %d webhook attempts: %s", len(batch), exc)
            finally:
                self._changed.set()  # the next event of these invoices may be sendable now

    async def _schedule_next(self) -> None:
        """Wake when the earliest retry falls due, if that is before the next poll."""
        if self._closed:
            return
        try:
            delay = await db.seconds_until_next_due(self.pool)
        except (OSError, asyncpg.PostgresError):
            return
        if delay is None or delay >= self.settings.webhook_poll_seconds:
            return
        if self._timer:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(max(delay, MIN_TIMER_SECONDS), self.wake)

    def _keys(self, salts: list[bytes]) -> list[str]:
        keys = self._key_of
        for salt in salts:
            if salt not in keys:
                if len(keys) >= MAX_CACHED:
                    keys.clear()
                keys[salt] = secret_key_from_salt(self.settings.master_key, salt)
        return [keys[salt] for salt in salts]

    async def _check_url(self, url: str) -> None:
        """check_webhook_url; with private addresses allowed it only parses, so a URL that passed once passes."""
        if url in self._parsed_urls:
            return
        await check_webhook_url(url, allow_private=self.settings.webhook_allow_private)
        if self.settings.webhook_allow_private:
            if len(self._parsed_urls) >= MAX_CACHED:
                self._parsed_urls.clear()
            self._parsed_urls.add(url)

    async def _deliver(self, claimed: db.Claimed) -> db.Outcome:
        started = time.monotonic()
        attempted_at = datetime.now(UTC)
        status_code, error, excerpt = None, None, None
        try:
            if not claimed.url:
                raise Invalid("no_webhook_url", "the company has no webhook URL")
            if not claimed.key_salts:
                raise Invalid("no_secret_key", "the company has no active secret key")
            await self._check_url(claimed.url)
            headers = signature_headers(claimed.body, self._keys(claimed.key_salts), str(claimed.event_id))
            async with self.http.post(
                claimed.url, data=claimed.body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as resp:
                status_code = resp.status
                excerpt = (await resp.read())[:MAX_EXCERPT].decode("utf-8", "replace")
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except Invalid as exc:
            error = exc.message
        except TimeoutError:
            error = f"timed out after {self.settings.webhook_timeout_seconds:g} s"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
        duration_ms = int((time.monotonic() - started) * 1000)
        log.info(
            "webhook delivery %s of event %s: %s",
            claimed.id,
            claimed.event_id,
            error or f"HTTP {status_code}",
            extra=log_fields(claimed.request_id, claimed.invoice_id),
        )
        return self._outcome(claimed, attempted_at, status_code, error, duration_ms, excerpt)

    def _outcome(
        self,
        claimed: db.Claimed,
        at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
        excerpt: str | None = None,
    ) -> db.Outcome:
        if error is None:
            return db.Outcome(claimed.id, "delivered", claimed.url, status_code, None, duration_ms, at, None, excerpt)
        next_at = at + timedelta(seconds=retry_delay(self.settings, claimed.attempts))
        deadline = claimed.window_started_at + timedelta(hours=self.settings.webhook_retry_window_hours)
        state = "failed" if next_at > deadline else "pending"
        if state == "failed":
            log.warning(
                "webhook delivery %s failed for good after %d attempts: %s", claimed.id, claimed.attempts, error
            )
        return db.Outcome(claimed.id, state, claimed.url, status_code, error, duration_ms, at, next_at, excerpt)

    async def close(self) -> None:
        """Stop: abandon requests in flight and give their claims back (due again at once)."""
        self._closed = True
        if self._timer:
            self._timer.cancel()
        tasks = [task for task, _ in self._inflight.values()]
        for task in tasks:
            task.cancel()
        self._changed.set()
        await asyncio.gather(*tasks, *self._wakers, return_exceptions=True)
        if self._flusher:
            await asyncio.gather(self._flusher, return_exceptions=True)
        abandoned = [d for d, (t, _) in self._inflight.items() if t.cancelled()] + [c.id for c in self._ready]
        self._ready.clear()
        self._held.clear()
        self._flying.clear()
        if abandoned:
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await db.release(self.pool, self.token, abandoned)
        self._inflight.clear()
