"""Email over STARTTLS and over implicit TLS (smtps) to a real aiosmtpd server on 127.0.0.1 with a self-signed
certificate made here, configured the way an operator does (COINVOICE_SMTP_URL with a user and password,
COINVOICE_SMTP_CA_FILE); an untrusted certificate or a server without STARTTLS is a retried failure, never a send
in the clear."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from coinvoice.config import load_settings
from coinvoice.db import email_outbox
from coinvoice.mail.sender import send_due_emails
from tests.billing.test_email import Inbox, _free_port
from tests.conftest import TEST_ENV

USER, PASSWORD = "billing@shop.example", "p@ss:word/1"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (IP subject alternative name), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coinvoice test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class TlsInbox(Inbox):
    """Keeps, per message, whether its connection was encrypted and who logged in on it."""

    def __init__(self) -> None:
        super().__init__()
        self.sessions: list[tuple[bool, str | None]] = []
        self.logins: dict[int, str] = {}

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.logins[id(session)] = auth_data.login.decode()
        return AuthResult(success=ok)

    async def handle_DATA(self, server, session, envelope):
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.sessions.append((encrypted, self.logins.get(id(session))))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    return make_certificate(tmp_path)


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def smtp_server(handler: TlsInbox, certificate: tuple[Path, Path], mode: str) -> Controller:
    context = server_context(certificate)
    port = _free_port()
    if mode == "starttls":
        return Controller(
            handler,
            "127.0.0.1",
            port,
            tls_context=context,
            require_starttls=True,
            authenticator=handler.authenticate,
            auth_require_tls=True,
        )
    if mode == "tls":  # encrypted from the first byte (aiosmtpd's own TLS check only knows STARTTLS)
        return Controller(
            handler, "127.0.0.1", port, ssl_context=context, authenticator=handler.authenticate, auth_require_tls=False
        )
    return Controller(handler, "127.0.0.1", port)


def configured(url: str, ca_file: Path | None, tmp_path: Path):
    env = {**TEST_ENV, "COINVOICE_DATA_DIR": str(tmp_path), "COINVOICE_SMTP_URL": url}
    if ca_file is not None:
        env["COINVOICE_SMTP_CA_FILE"] = str(ca_file)
    smtp = load_settings(env).smtp
    assert smtp is not None
    return smtp


async def queue_one(pool, company) -> uuid.UUID:
    async with pool.acquire() as conn:
        return await email_outbox.enqueue(
            conn,
            company_id=uuid.UUID(company["id"]),
            invoice_id=None,
            kind="invoice",
            to_address="ann@example.com",
            subject="Invoice INV-000001",
            text_body="Pay at http://127.0.0.1:8080/x",
            html_body="<p>Pay</p>",
        )


async def outcome(pool, email_id: uuid.UUID) -> tuple[str, int, str | None]:
    row = await pool.fetchrow("SELECT state, attempts, last_error FROM email_outbox WHERE id = $1", email_id)
    return row["state"], row["attempts"], row["last_error"]


USER_URL = "smtp{s}://billing%40shop.example:p%40ss%3Aword%2F1@127.0.0.1:{port}"


@pytest.mark.parametrize(("mode", "scheme"), [("starttls", ""), ("tls", "s")])
async def test_mail_is_sent_encrypted_and_authenticated(mode, scheme, pool, company, certificate, tmp_path):
    handler = TlsInbox()
    controller = smtp_server(handler, certificate, mode)
    controller.start()
    try:
        smtp = configured(USER_URL.format(s=scheme, port=controller.port), certificate[0], tmp_path)
        assert smtp.security == mode and smtp.username == USER and smtp.password == PASSWORD
        email_id = await queue_one(pool, company)
        assert await send_due_emails(pool, smtp) == 1
    finally:
        controller.stop()
    assert await outcome(pool, email_id) == ("sent", 1, None)
    [message] = handler.messages
    assert message["Subject"] == "Invoice INV-000001" and message["X-Envelope-To"] == "ann@example.com"
    assert handler.sessions == [(True, USER)]  # over TLS, logged in with the URL's decoded user and password


@pytest.mark.parametrize(("mode", "scheme"), [("starttls", ""), ("tls", "s")])
async def test_an_untrusted_certificate_is_a_retried_failure(mode, scheme, pool, company, certificate, tmp_path):
    handler = TlsInbox()
    controller = smtp_server(handler, certificate, mode)
    controller.start()
    try:
        smtp = configured(USER_URL.format(s=scheme, port=controller.port), None, tmp_path)  # no CA file
        email_id = await queue_one(pool, company)
        assert await send_due_emails(pool, smtp) == 1
    finally:
        controller.stop()
    state, attempts, error = await outcome(pool, email_id)
    assert (state, attempts) == ("pending", 1) and error and "CERTIFICATE_VERIFY_FAILED" in error, error
    assert handler.messages == []


async def test_starttls_is_never_skipped_when_the_server_does_not_offer_it(pool, company, certificate, tmp_path):
    handler = TlsInbox()
    controller = smtp_server(handler, certificate, "plain")  # no STARTTLS on offer
    controller.start()
    try:
        smtp = configured(f"smtp://127.0.0.1:{controller.port}", certificate[0], tmp_path)
        assert smtp.security == "starttls"
        email_id = await queue_one(pool, company)
        assert await send_due_emails(pool, smtp) == 1
    finally:
        controller.stop()
    state, attempts, error = await outcome(pool, email_id)
    assert (state, attempts) == ("pending", 1) and error, error
    assert handler.messages == []


def test_a_missing_ca_file_is_a_configuration_error(tmp_path):
    from coinvoice.config import ConfigError

    with pytest.raises(ConfigError, match="COINVOICE_SMTP_CA_FILE"):
        configured("smtp://127.0.0.1:2525", tmp_path / "nope.pem", tmp_path)
