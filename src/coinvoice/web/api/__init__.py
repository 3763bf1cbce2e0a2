"""coinvoice.web.api."""
