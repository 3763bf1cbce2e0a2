"""Prometheus metrics: a registry per application, a request middleware and the /metrics endpoint."""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from coinvoice.appkeys import POOL, RATES
from coinvoice.db.ops_stats import OpsStats, ops_stats
from coinvoice.domain.invoice import Status
from coinvoice.rates.metrics import RateMetrics

#: Gauges are set from PostgreSQL at each scrape, by whichever process answers it: behind `serve --processes N`
#: the newest value of any process is the right one (prometheus-client's multiprocess mode, see metrics_handler).
_Gauge = functools.partial(Gauge, multiprocess_mode="mostrecent")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "coinvoice_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "coinvoice_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.invoice_batches = Histogram(
            "coinvoice_invoice_insert_batch_rows",
            "Creates written by one group-commit statement (db/invoice_inserts.py)",
            registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64),
        )
        # (method, route, status) -> its counter and histogram children: routes are templates, so this stays small
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.rates = RateMetrics(self.registry)
        r = self.registry
        self.invoices = _Gauge("coinvoice_invoices", "Invoices by status", ["status"], registry=r)
        self.deliveries = _Gauge("coinvoice_webhook_deliveries", "Webhook deliveries by outcome", ["state"], registry=r)
        self.outbox_depth = _Gauge("coinvoice_webhook_outbox_depth", "Webhook deliveries not yet delivered", registry=r)
        self.outbox_oldest = _Gauge(
            "coinvoice_webhook_outbox_oldest_seconds", "Age of the oldest undelivered webhook (0: none)", registry=r
        )
        self.cursor_height = _Gauge(
            "coinvoice_chain_cursor_height", "The block height a chain's follower has processed", ["chain"], registry=r
        )
        self.cursor_age = _Gauge(
            "coinvoice_chain_cursor_age_seconds",
            "Seconds since a chain's cursor last advanced (the last successful poll that saw a new block)",
            ["chain"],
            registry=r,
        )

        self.chain_tip = _Gauge(
            "coinvoice_chain_tip_height",
            "The node's tip height as the watcher's latest round began",
            ["chain"],
            registry=r,
        )
        self.chain_lag = _Gauge(
            "coinvoice_chain_lag_blocks",
            "Blocks the watcher is behind the node: the tip its latest round saw minus its cursor",
            ["chain"],
            registry=r,
        )
        self.last_poll = _Gauge(
            "coinvoice_chain_last_poll_timestamp_seconds",
            "Unix time of the watcher's last successful round",
            ["chain"],
            registry=r,
        )
        self.last_poll_age = _Gauge(
            "coinvoice_chain_last_poll_age_seconds",
            "Seconds since the watcher's last successful round",
            ["chain"],
            registry=r,
        )

    def request_done(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one HTTP request and its latency; the labelled children are kept, not looked up per request."""
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(method, route))
            if len(self._request_children) < 1024:  # methods are the client's words: keep the cache bounded
                self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe(self, stats: OpsStats) -> None:
        for status in Status:
            self.invoices.labels(status.value).set(stats.invoices_by_status.get(status.value, 0))
        for state in ("pending", "delivered", "failed"):
            self.deliveries.labels(state).set(stats.deliveries_by_state.get(state, 0))
        self.outbox_depth.set(stats.deliveries_by_state.get("pending", 0))
        oldest = stats.oldest_pending_delivery
        self.outbox_oldest.set(0 if oldest is None else max(0.0, (stats.now - oldest).total_seconds()))
        for chain, (height, at) in stats.cursors.items():
            self.cursor_height.labels(chain).set(height)
            self.cursor_age.labels(chain).set(max(0.0, (stats.now - at).total_seconds()))
        for chain, (tip, polled_at) in stats.polls.items():
            self.chain_tip.labels(chain).set(tip)
            if polled_at is not None:
                self.last_poll.labels(chain).set(polled_at.timestamp())
                self.last_poll_age.labels(chain).set(max(0.0, (stats.now - polled_at).total_seconds()))
            if chain in stats.cursors:  # a block follower (shared-address scanners keep no block cursor)
                self.chain_lag.labels(chain).set(max(0, tip - stats.cursors[chain][0]))


METRICS = web.AppKey("metrics", Metrics)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def metrics_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        request.app[METRICS].request_done(request.method, _route(request), status, time.perf_counter() - started)


async def metrics_handler(request: web.Request) -> web.Response:
    with contextlib.suppress(OSError, asyncpg.PostgresError):  # metrics must answer without the database
        await request.app[RATES].ready(request.app[POOL])  # rate ages as PostgreSQL knows them, not as last read
        request.app[METRICS].observe(await ops_stats(request.app[POOL]))
    return web.Response(body=exposition(request.app[METRICS].registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def exposition(registry: CollectorRegistry) -> bytes:
    """The metrics text: this process's registry, or, when prometheus-client's multiprocess directory is set (the
    children of `serve --processes N` share one, web/supervisor.py), every process's values combined: counters
    and histograms summed, gauges the most recently set."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return generate_latest(registry)
    combined = CollectorRegistry()
    MultiProcessCollector(combined, path=folder)
    return generate_latest(combined)
