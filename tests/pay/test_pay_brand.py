"""The merchant's brand colour and the asset picker's amounts, over plain HTTP. Contrast is computed here, from
the stylesheet the page really loads, with the WCAG 2 formula written out again (not the server's)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.pay.gateway import Gateway
from tests.pay.test_pay_http import get

SETTINGS = "/api/company/settings"
#: custom properties that are backgrounds text may sit on, per pay.css
BACKGROUNDS = ("--page", "--card", "--ok-bg", "--info-bg", "--warn-bg", "--bad-bg")
ROOT = re.compile(r"(@media \(prefers-color-scheme: dark\)\s*\{\s*)?:root\s*\{([^}]*)\}")


def luminance(color: str) -> float:
    if len(color) == 4:  # #rgb
        color = "#" + "".join(c * 2 for c in color[1:])
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def ratio(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def schemes(css: str) -> dict[str, dict[str, str]]:
    """The custom properties in force in the light and the dark scheme (later rules win, dark inherits light)."""
    light: dict[str, str] = {}
    dark: dict[str, str] = {}
    for m in ROOT.finditer(css):
        found = dict(re.findall(r"(--[\w-]+)\s*:\s*(#[0-9a-fA-F]{3,6})", m.group(2)))
        (dark if m.group(1) else light).update(found)
    return {"light": light, "dark": light | dark}


async def set_brand(gw: Gateway, color: str | None) -> tuple[int, dict]:
    return await gw.api.call("PATCH", SETTINGS, token=gw.company["publicToken"], json_body={"brandColor": color})


@pytest.mark.parametrize("color", ["#FFEB3B", "#1a237e", "#777777", "#0b57d0", "#ffffff", "#000000"])
async def test_a_brand_colour_is_kept_readable_in_light_and_dark(gateway, color):
    status, settings = await set_brand(gateway, color)
    assert status == 200, settings
    assert settings["brandColor"] == color.lower()
    inv = await gateway.create_invoice()
    await gateway.fill(inv["id"])
    resp, html = await get(gateway, f"/{inv['id']}")
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert links == [f"/static/brand/{color[1:].lower()}.css?v={links[0].split('v=')[1]}"]  # one stylesheet
    resp, css = await get(gateway, links[0])
    assert resp.status == 200 and resp.content_type == "text/css"
    assert "immutable" in resp.headers["Cache-Control"]
    assert css.startswith("/* coinvoice payer page")  # pay.css itself, then the brand's properties
    for name, props in schemes(css).items():
        assert props["--accent-fill"] == color.lower()  # the merchant's own colour on the buttons
        texts = {bg: ratio(props["--accent"], props[bg]) for bg in BACKGROUNDS}
        assert min(texts.values()) >= 4.5, (name, props["--accent"], texts)
        assert ratio(props["--on-accent"], props["--accent-fill"]) >= 4.5, (name, props)
        assert ratio(props["--on-accent"], props["--accent-hover"]) >= 4.5, (name, props)
        shown = settings["brandPalette"][name]
        assert (shown["accent"], shown["buttonBackground"], shown["buttonText"]) == (
            props["--accent"],
            props["--accent-fill"],
            props["--on-accent"],
        )
        if min(ratio(color.lower(), props[bg]) for bg in BACKGROUNDS) >= 4.5:
            assert props["--accent"] == color.lower()  # a readable colour is used as it is


async def test_no_brand_colour_means_the_plain_stylesheet_and_bad_colours_are_refused(gateway):
    inv = await gateway.create_invoice()
    _, html = await get(gateway, f"/{inv['id']}")
    assert re.findall(r'<link rel="stylesheet" href="(/static/[^"?]+)', html) == ["/static/pay/pay.css"]
    for bad in ["red", "#fff", "#12345g", "1a237e", "#1a237e;}", 7]:
        status, body = await set_brand(gateway, bad)
        assert status == 400, (bad, body)
        assert body["error"]["field"] == "brandColor", body
    status, settings = await gateway.api.call("GET", SETTINGS, token=gateway.company["publicToken"])
    assert (settings["brandColor"], settings["brandPalette"]) == (None, None)
    assert (await set_brand(gateway, "#c2185b"))[0] == 200
    _, html = await get(gateway, f"/{inv['id']}")
    assert "/static/brand/c2185b.css" in html
    status, settings = await set_brand(gateway, None)  # cleared
    assert (status, settings["brandColor"]) == (200, None)
    _, html = await get(gateway, f"/{inv['id']}")
    assert "/static/brand/" not in html
    resp, _ = await get(gateway, "/static/brand/zzzzzz.css")
    assert resp.status == 404


async def test_the_picker_shows_each_assets_amount_as_the_fill_would_quote_it(gateway):
    await gateway.pool.execute("UPDATE company_assets SET is_allowed = true WHERE asset IN ('ltc', 'btc')")
    inv = await gateway.create_invoice(invoiceCurrency="usd")  # the test rates have usd/ltc and usd/btc
    _, html = await get(gateway, f"/{inv['id']}")
    shown = dict(re.findall(r'data-asset="(\w+)">≈ <span class="mono">([\d.,]+)</span>', html))
    assert set(shown) == {"ltc", "btc"}, html
    view = await gateway.fill(inv["id"], "btc")
    assert Decimal(shown["btc"].replace(",", "")) == Decimal(view["paymentDetails"]["amount"])
    eur = await gateway.create_invoice()  # no eur/btc rate: btc is offered without an amount
    _, html = await get(gateway, f"/{eur['id']}")
    shown = dict(re.findall(r'data-asset="(\w+)">≈ <span class="mono">([\d.,]+)</span>', html))
    assert set(shown) == {"ltc"} and 'value="btc"' in html
    ltc = await gateway.fill(eur["id"], "ltc")
    assert Decimal(shown["ltc"].replace(",", "")) == Decimal(ltc["paymentDetails"]["amount"])
