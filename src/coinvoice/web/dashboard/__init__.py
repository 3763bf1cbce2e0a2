"""The merchant dashboard: server-rendered pages under /dashboard/, signed in with a session cookie."""
