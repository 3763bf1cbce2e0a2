"""Templates, static files and security headers of the payer page."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from aiohttp import web

from coinvoice.web.pay.i18n import LANGUAGES, formatters, link, span, strong, translations

HERE = Path(__file__).parent
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str


def load_static(folder: Path = HERE / "static") -> dict[str, StaticFile]:
    """Every file of the static folder, read once: they are a few kilobytes."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.is_file():
            body = path.read_bytes()
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            files[path.name] = StaticFile(body, kind, hashlib.sha256(body).hexdigest()[:12])
    return files


def seconds_left(expires_at: str, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    return max(0, int((datetime.fromisoformat(expires_at.replace("Z", "+00:00")) - now).total_seconds()))


def server_now() -> str:
    """The server's clock, for the page's countdown: the browser's clock may be off by minutes."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def time_left(expires_at: str | None, now: datetime | None = None) -> str:
    """Minutes:seconds (or h:mm:ss) until ``expires_at``, as the countdown shows it without JavaScript."""
    if not expires_at:
        return ""
    left = seconds_left(expires_at, now)
    hours, rest = divmod(left, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


#: Icon disc and text colours per company asset (the brands' own colours).
ICON_COLORS = {
    "btc": ("#f7931a", "#1a1d21"),
    "ltc": ("#345d9d", "#fff"),
    "bch": ("#0ac18e", "#1a1d21"),
    "eth": ("#627eea", "#fff"),
    "usdt": ("#26a17b", "#fff"),
    "usdc": ("#2775ca", "#fff"),
    "bnb": ("#f3ba2f", "#1a1d21"),
    "trx": ("#ff060a", "#fff"),
    "sol": ("#9945ff", "#fff"),
    "ton": ("#0098ea", "#fff"),
}


#: What the script says (live announcements, copy feedback), in each language: sent as data-* attributes.
JS_TEXTS = {
    "pending": "Waiting for your payment.",
    "processing": "Payment seen, waiting for confirmations.",
    "wrong": "Payment incomplete: part of the amount is still missing.",
    "done": "Payment received.",
    "expired": "This invoice has expired.",
    "refunded": "Payment rejected.",
    "failed": "This invoice cannot be paid.",
    "warn-1": "1 minute left to pay.",
    "warn-5": "5 minutes left to pay.",
    "time-up": "Time is up",
    "time-up-note": "Do not send a payment now. Checking the invoice…",
    "copied": "Copied",
    "selected": "Selected: copy it now",
    "stayed": "You stay on this page.",
    "stay-announce": "Redirect cancelled. You stay on this page.",
}


def make_templates(static: dict[str, StaticFile]) -> dict[str, jinja2.Environment]:
    """One template environment per language, each with its catalogue and its locale's formats."""
    return {lang: _environment(static, lang) for lang, _ in LANGUAGES}


def _environment(static: dict[str, StaticFile], lang: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # merchant text (company name, items) is always escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,  # templates ship with the package: no stat() of every file on every render
    )
    catalogue = translations(lang)
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(formatters(lang))
    env.globals.update(lang=lang, languages=LANGUAGES, strong=strong, span=span, link=link)
    # a message built at run time (a form error): translated if the catalogue has it, escaped like any text
    env.globals["translate"] = catalogue.gettext
    env.globals["js_texts"] = lambda: {key: catalogue.gettext(text) for key, text in JS_TEXTS.items()}
    env.globals["static_url"] = lambda name: f"/static/pay/{name}?v={static[name].etag}"
    # pay.css with the merchant's colours appended: still one stylesheet request
    env.globals["brand_css_url"] = lambda color: f"/static/brand/{color[1:]}.css?v={static['pay.css'].etag}"
    env.globals["time_left"] = time_left
    env.globals["seconds_left"] = seconds_left
    env.globals["server_now"] = server_now
    env.globals["icon_colors"] = ICON_COLORS
    return env


def security_headers(img_origin: str | None = None) -> dict[str, str]:
    """A strict CSP (scripts and styles only from the gateway, no inline script) and the usual companions."""
    img = "'self' data:" + (f" {img_origin}" if img_origin else "")
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {img}; connect-src 'self'; form-action 'self'; base-uri 'none'; "
        "object-src 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }


def html_response(
    env: jinja2.Environment, template: str, *, status: int = 200, img_origin: str | None = None, **context: object
) -> web.Response:
    body = env.get_template(template).render(**context)
    response = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    response.headers.update(security_headers(img_origin))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = str(env.globals.get("lang", "en"))
    response.headers["Vary"] = "Accept-Language"
    response.enable_compression()
    return response


def static_response(request: web.Request, files: dict[str, StaticFile]) -> web.Response:
    file = files.get(request.match_info["name"])
    if file is None:
        raise web.HTTPNotFound()
    etag = f'"{file.etag}"'
    versioned = request.query.get("v") == file.etag
    headers = {
        "ETag": etag,
        "Cache-Control": IMMUTABLE if versioned else "public, max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    response = web.Response(body=file.body, content_type=file.content_type, headers=headers)
    response.enable_compression()
    return response
