"""Background workers: scheduled jobs (expiry, chain watchers, webhook sender)."""
