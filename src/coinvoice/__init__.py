"""coinvoice: a self-hosted crypto-payment invoice gateway."""
