"""A TCP proxy on 127.0.0.1 that a test can cut and restore: a database outage without stopping the machine's
PostgreSQL (other tests share it). The target is a TCP host and port, or the Unix socket of a URL whose `host=`
names a socket folder (the embedded pgserver's). cut() closes the listening port (new connections are refused, as with a
stopped server) and resets every open connection; restore() listens on the same port again."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, socket_path: Path | None = None) -> None:
        self.target = (target_host, target_port)
        self.socket_path = socket_path  # set: the target is this Unix socket instead
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @classmethod
    def for_url(cls, url: str) -> TcpProxy:
        parts = urlsplit(url)
        port = parts.port or 5432
        socket_dir = dict(parse_qsl(parts.query)).get("host")
        if socket_dir and socket_dir.startswith("/"):
            return cls("127.0.0.1", port, Path(socket_dir) / f".s.PGSQL.{port}")
        return cls(parts.hostname or "127.0.0.1", port)

    def url_through(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's."""
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "host"])
        return urlunsplit(parts._replace(netloc=netloc, query=query))

    @property
    def up(self) -> bool:
        return self._server is not None

    async def restore(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.socket_path is not None:
                up_reader, up_writer = await asyncio.open_unix_connection(self.socket_path)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.transport.abort() if not self.up else dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))
