"""Fixtures for the dashboard tests over HTTP."""

from tests.dashboard.support import clients, dash
from tests.pay.gateway import gateway, start_gateway

__all__ = ["clients", "dash", "gateway", "start_gateway"]
