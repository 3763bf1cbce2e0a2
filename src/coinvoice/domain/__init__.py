"""coinvoice.domain."""
