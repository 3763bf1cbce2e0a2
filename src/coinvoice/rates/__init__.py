"""coinvoice.rates."""
