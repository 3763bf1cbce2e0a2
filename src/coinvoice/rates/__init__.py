"""coinvoice.rates: market rate providers, the rate cache and its refresh job, and the RateService quotes use."""
