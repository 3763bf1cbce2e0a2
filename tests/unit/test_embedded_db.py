"""Processes that start the embedded PostgreSQL at the same moment take turns instead of racing.

pgserver checks for its data folder and then creates it: two test workers (or two `coinvoice serve`) starting
together on a fresh clone used to fail with FileExistsError. A file lock beside the folder serialises them.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import sys
from pathlib import Path
from coinvoice.db.embedded import embedded_database_url
print(embedded_database_url(Path(sys.argv[1]), database="race"))
"""


def test_starters_wait_for_the_lock_then_all_get_the_same_fresh_server(tmp_path: Path):
    data = Path("/tmp") / f"cv-race-{tmp_path.name[-12:]}"  # short: the server's socket path has a length limit
    data.mkdir()
    lock = open(data / "pg.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # as if another process were creating the server right now
    procs = [
        subprocess.Popen([sys.executable, "-c", SCRIPT, str(data)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    try:
        time.sleep(4)
        assert all(p.poll() is None for p in procs), "a starter did not wait for the lock"
        assert not (data / "pg").exists(), "a starter created the server while another held the lock"
        fcntl.flock(lock, fcntl.LOCK_UN)
        results = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), [err.decode()[-800:] for _, err in results]
        urls = {out.decode().strip() for out, _ in results}
        assert len(urls) == 1 and "/race?host=" in urls.pop()
    finally:
        lock.close()
        for p in procs:
            p.kill()
        import pgserver

        if (data / "pg" / "PG_VERSION").exists():
            with pgserver.get_server(data / "pg", cleanup_mode="stop"):
                pass  # leaving the block stops the server
        shutil.rmtree(data, ignore_errors=True)
