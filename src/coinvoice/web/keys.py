"""Typed application state keys: everything a handler needs lives on the Application, not in globals."""

from __future__ import annotations

import aiohttp
import asyncpg
from aiohttp import web

from coinvoice.config import Settings
from coinvoice.db.company_cache import CompanyCache
from coinvoice.rates.service import RateService

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
RATES = web.AppKey("rates", RateService)
HTTP = web.AppKey("http", aiohttp.ClientSession)
COMPANIES = web.AppKey("companies", CompanyCache)
