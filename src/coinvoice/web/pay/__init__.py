"""coinvoice.web.pay."""
