"""The billing tests reuse the litecoin merchant and watcher fixtures of the chain tests, and the webhook
receiver and worker fixtures of the webhook tests."""

from tests.chains.conftest import ltc_settings, merchant, session, watcher  # noqa: F401
from tests.webhooks.conftest import fast_settings, receiver, start_worker  # noqa: F401
