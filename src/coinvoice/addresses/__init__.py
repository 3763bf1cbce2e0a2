"""coinvoice.addresses."""
