"""Prometheus metrics of the rate providers: successes, failures, latency, rejected prices, rate age."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class RateMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.successes = Counter(
            "coinvoice_rate_provider_successes",
            "Refreshes in which a rate provider answered usable prices (counted by the refresh leader)",
            ["provider"],
            registry=registry,
        )
        self.failures = Counter(
            "coinvoice_rate_provider_failures",
            "Refreshes in which a rate provider gave no usable answer, by reason",
            ["provider", "reason"],
            registry=registry,
        )
        self.latency = Histogram(
            "coinvoice_rate_provider_request_seconds",
            "How long a rate provider took to answer (or fail)",
            ["provider"],
            registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.rejected = Counter(
            "coinvoice_rate_observations_rejected",
            "Prices a provider sent that were not used: not positive and finite, or an absurd jump",
            ["provider", "reason"],
            registry=registry,
        )
        self.age = Gauge(
            "coinvoice_rate_provider_age_seconds",
            "Seconds since the provider's newest good price in the rate cache (NaN: none yet)",
            ["provider"],
            registry=registry,
            multiprocess_mode="mostrecent",  # set at each scrape: see web/metrics.py
        )
        self.fee_estimates = Counter(
            "coinvoice_network_fee_estimates",
            "Network-fee estimate requests to the nodes, by chain and outcome",
            ["chain", "outcome"],
            registry=registry,
        )

    def watch_ages(self, providers: Sequence[str], age_of: Callable[[str], float]) -> None:
        """Expose every provider's rate age, read when /metrics is scraped; start its counters at zero."""
        for provider in providers:
            self.age.labels(provider).set_function(functools.partial(age_of, provider))
            self.successes.labels(provider)
