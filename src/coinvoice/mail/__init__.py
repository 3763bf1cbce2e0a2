"""Email: invoice and receipt messages rendered from templates, and the SMTP sender of the outbox."""
