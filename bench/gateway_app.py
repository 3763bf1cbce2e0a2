"""Runs the real gateway app (API role) for a bench, configured from the environment."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from coinvoice.app import create_app
from coinvoice.config import load_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app = create_app(load_settings(), role="api", dsn=args.dsn)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
