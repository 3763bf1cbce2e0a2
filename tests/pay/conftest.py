"""Fixtures for the payer page tests over HTTP."""

from tests.pay.gateway import gateway, start_gateway

__all__ = ["gateway", "start_gateway"]
