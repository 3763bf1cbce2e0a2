"""coinvoice.webhooks."""
