"""coinvoice.web."""
