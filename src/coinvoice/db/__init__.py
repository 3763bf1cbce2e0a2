"""coinvoice.db."""
