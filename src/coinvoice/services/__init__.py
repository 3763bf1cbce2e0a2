"""coinvoice.services."""
