"""coinvoice.chains."""
