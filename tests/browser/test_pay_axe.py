"""axe-core on every state of the payer page, light and dark: no serious or critical violations.

axe-core comes from npm (package.json, test only) and is injected by the test before the page's own scripts;
the gateway never serves it.
"""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.tab import opened
from tests.browser.test_pay_dark import _states
from tests.pay.gateway import Gateway

RUN_AXE = """
axe.run(document, {resultTypes: ["violations"]}).then((r) => r.violations
  .filter((v) => v.impact === "serious" || v.impact === "critical")
  .map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" "))})))
"""


async def test_axe_finds_no_serious_or_critical_violation_in_any_state(browser, gateway: Gateway, axe_source):
    states = await _states(gateway)
    processing = await gateway.create_invoice()
    view = await gateway.fill(processing["id"])
    due = int(float(view["paymentDetails"]["amount"]) * 10**8 + 0.5)
    await gateway.add_deposit(processing["id"], due, 0, "processing")
    states["processing"] = processing["id"]
    served = []
    for scheme in ("light", "dark"):
        async with opened(browser, width=390, height=844, color_scheme=scheme) as tab:
            page = tab.page
            page.on("request", lambda r: served.append(r.url))
            await page.add_init_script(path=str(axe_source))
            for name, invoice_id in states.items():
                await tab.open(gateway, invoice_id)
                await expect(page.locator("#state h2").first).to_be_visible()
                for opened_order in (False, True):
                    if opened_order:
                        await page.get_by_text("Order ·").click()
                    violations = await page.evaluate(RUN_AXE)
                    assert violations == [], f"{scheme} {name}: {violations}"
            assert tab.csp_violations == []
    assert not any("axe" in url for url in served), "axe-core must never be served"
