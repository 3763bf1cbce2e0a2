"""The email sender: claims due outbox messages, sends each over SMTP, retries with exponential backoff."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import asyncpg

from coinvoice.config import SmtpSettings
from coinvoice.db import email_outbox as db
from coinvoice.logcontext import log_fields

log = logging.getLogger(__name__)
BATCH = 20
LEASE = timedelta(minutes=5)


def build_message(smtp: SmtpSettings, row: asyncpg.Record) -> EmailMessage:
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = row["to_address"]
    message["Subject"] = row["subject"]
    message["Message-ID"] = make_msgid(idstring=str(row["id"]))
    message.set_content(row["text_body"])
    message.add_alternative(row["html_body"], subtype="html")
    return message


async def _send(smtp: SmtpSettings, message: EmailMessage) -> None:
    await aiosmtplib.send(
        message,
        hostname=smtp.host,
        port=smtp.port,
        username=smtp.username,
        password=smtp.password,
        use_tls=smtp.security == "tls",
        start_tls=smtp.security == "starttls",  # required when asked for: never a silent plain-text fallback
        cert_bundle=smtp.ca_file,
        timeout=smtp.timeout_seconds,
    )


def next_attempt(smtp: SmtpSettings, attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` failures (doubling, at most an hour apart); None: give up."""
    if attempts >= smtp.max_attempts:
        return None
    return now + timedelta(seconds=min(smtp.retry_base_seconds * 2 ** (attempts - 1), 3600.0))


async def send_due_emails(pool: asyncpg.Pool, smtp: SmtpSettings) -> int:
    """Send one batch of due messages (none inside a request); returns how many were attempted."""
    now = datetime.now(UTC)
    rows = await db.claim_due(pool, now, now + LEASE, BATCH)
    for row in rows:
        fields = log_fields(row["request_id"], row["invoice_id"])
        try:
            await _send(smtp, build_message(smtp, row))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            when = next_attempt(smtp, row["attempts"], datetime.now(UTC))
            log.warning(
                "email %s to %s failed (attempt %d): %s",
                row["id"],
                row["to_address"],
                row["attempts"],
                exc,
                extra=fields,
            )
            await db.mark_retry(pool, row["id"], f"{type(exc).__name__}: {exc}", when)
        else:
            log.info("email %s (%s) sent", row["id"], row["kind"], extra=fields)
            await db.mark_sent(pool, row["id"], datetime.now(UTC))
    return len(rows)
