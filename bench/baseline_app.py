"""The baseline: a bare aiohttp + asyncpg app doing one insert (POST) or one primary-key select (GET)."""

from __future__ import annotations

import argparse
import json
import uuid

import asyncpg
from aiohttp import web

POOL = web.AppKey("pool", asyncpg.Pool)


async def create(request: web.Request) -> web.Response:
    body = await request.json()
    row_id = uuid.uuid4()
    await request.app[POOL].execute("INSERT INTO bench_baseline (id, body) VALUES ($1, $2)", row_id, json.dumps(body))
    return web.json_response({"id": str(row_id), **body}, status=201)


async def read(request: web.Request) -> web.Response:
    row = await request.app[POOL].fetchrow(
        "SELECT id, body FROM bench_baseline WHERE id = $1", uuid.UUID(request.match_info["id"])
    )
    return web.json_response({"id": str(row["id"]), **json.loads(row["body"])})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    async def pool_ctx(app: web.Application):
        app[POOL] = await asyncpg.create_pool(args.dsn, min_size=2, max_size=10)
        await app[POOL].execute("CREATE TABLE IF NOT EXISTS bench_baseline (id uuid PRIMARY KEY, body jsonb)")
        yield
        await app[POOL].close()

    app = web.Application()
    app.cleanup_ctx.append(pool_ctx)
    app.router.add_post("/baseline", create)
    app.router.add_get("/baseline/{id}", read)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
