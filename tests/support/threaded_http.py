"""The HTTP plumbing the chain stand-ins share: a threaded server on 127.0.0.1 that a test can take off the
network and bring back on the same port, and a request handler that answers JSON and logs nothing."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JsonHandler(BaseHTTPRequestHandler):
    def answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def json_body(self) -> Any:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))

    def log_message(self, *args: Any) -> None:
        return None


class ThreadedServer:
    """Serves a handler class in a thread; ``port`` stays the same across stop() and serve()."""

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Off the network: new connections are refused until started again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
