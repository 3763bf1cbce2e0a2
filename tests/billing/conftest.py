"""The billing tests reuse the litecoin merchant and watcher fixtures of the chain tests."""

from tests.chains.conftest import ltc_settings, merchant, session, watcher  # noqa: F401
