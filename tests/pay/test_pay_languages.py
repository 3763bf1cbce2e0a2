"""The payer page's languages: complete catalogues, the choice from Accept-Language or a link, locale formats."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from coinvoice.web.pay.i18n import LANGUAGES, LOCALE_DIR, choose_language, formatters
from coinvoice.web.pay.render import JS_TEXTS
from tests.pay.gateway import Gateway
from tests.pay.test_pay_http import get

TEMPLATES = LOCALE_DIR.parent / "templates"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _source_ids() -> set[str | tuple[str, str]]:
    found = extract_from_dir(
        str(TEMPLATES), method_map=[("**.html", "jinja2")], options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}
    )
    ids: set[str | tuple[str, str]] = {m if isinstance(m, str) else tuple(m) for _, _, m, _, _ in found}
    return ids | set(JS_TEXTS.values())


@pytest.mark.parametrize("lang", [code for code, _ in LANGUAGES if code != "en"])
def test_every_text_of_the_page_is_translated_with_the_same_placeholders(lang):
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=lang)
    for msgid in _source_ids():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        message = catalog.get(key)
        assert message is not None and message.string, f"{lang}: {key!r} is not translated"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert text, f"{lang}: a plural form of {key!r} is empty"
            wanted = set(PLACEHOLDER.findall(key)) - {"num"}
            assert wanted <= set(PLACEHOLDER.findall(text)), f"{lang}: {text!r} lost a placeholder of {key!r}"


def test_the_language_follows_a_link_then_accept_language_then_english():
    assert choose_language("ru", "de") == "ru"
    assert choose_language(None, "de-CH,de;q=0.9,en;q=0.8") == "de"
    assert choose_language(None, "nl,pt-BR;q=0.7,fr;q=0.5") == "pt"
    assert choose_language(None, "fr;q=0.2, es;q=0.8") == "es"
    assert choose_language("xx", "zh, *;q=0.1") == "en"
    assert choose_language(None, None) == "en"


def test_prices_amounts_and_times_follow_the_locale():
    de, en = formatters("de"), formatters("en")
    assert de["money"]("1234.5", "eur") == "1.234,50" and en["money"]("1234.5", "eur") == "1,234.50"
    assert de["crypto"]("0.00012345") == "0,00012345" and en["crypto"]("0.000000000000000001") == "0.000000000000000001"
    assert "2026" in de["when"]("2026-01-31T12:00:00.000Z") and "Jan" in en["when"]("2026-01-31T12:00:00.000Z")


async def test_accept_language_de_gives_the_german_page_with_links_to_the_others(gateway: Gateway):
    inv = await gateway.create_invoice(items=[{"name": "Tee", "price": "1018.5"}])
    resp, html = await get(gateway, f"/{inv['id']}", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert resp.headers["Content-Language"] == "de" and "Accept-Language" in resp.headers["Vary"]
    assert '<html lang="de">' in html and "Diese Rechnung bezahlen" in html and "1.018,50 EUR" in html
    for code in ("en", "es", "fr", "ru", "pt"):
        assert f'href="/{inv["id"]}?lang={code}"' in html
    _, html = await get(gateway, f"/{inv['id']}?lang=ru", headers={"Accept-Language": "de"})
    assert "Оплатить счёт" in html and f'action="/{inv["id"]}?lang=ru"' in html


async def test_the_no_javascript_form_keeps_the_chosen_language(gateway: Gateway):
    inv = await gateway.create_invoice()
    data = {"email": "a@b", "asset": "ltc"}
    async with gateway.api.session.post(f"{gateway.base}/{inv['id']}?lang=fr", data=data) as resp:
        assert resp.status == 400 and "Saisissez une adresse e-mail valide" in await resp.text()
    data["email"] = "payer@example.com"
    url = f"{gateway.base}/{inv['id']}?lang=fr"
    async with gateway.api.session.post(url, data=data, allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == f"/{inv['id']}?lang=fr"
    status, body = await gateway.api.call("GET", f"/{inv['id']}/status?lang=es")
    assert status == 200 and "Envíe su pago" in body["html"]
