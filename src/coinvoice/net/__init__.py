"""Outbound network safety: which addresses the gateway may connect to on a merchant's behalf."""
