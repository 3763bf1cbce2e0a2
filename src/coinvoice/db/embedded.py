"""The embedded PostgreSQL server (pgserver) used when no DATABASE_URL is set."""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def embedded_database_url(data_dir: Path, database: str = "coinvoice") -> str:
    """Start (or reuse) a pgserver under ``data_dir/pg`` and return a URL for ``database`` in it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    run_dir = data_dir / "run"
    run_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(run_dir))
    import pgserver  # imported here: a deployment with DATABASE_URL never needs it

    # Processes started together (test workers, two `serve`s) take turns: one creates the cluster and the
    # database, the others then find them. pgserver itself races on creating the data folder.
    with open(data_dir / "pg.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            server = pgserver.get_server(data_dir / "pg", cleanup_mode=None)
            exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
            if "1 row" not in exists:
                server.psql(f'CREATE DATABASE "{database}";')
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    log.info("embedded PostgreSQL running with data in %s", data_dir / "pg")
    return server.get_uri(database)
