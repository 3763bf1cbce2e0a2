"""Text contrast as the browser renders it: each visible text's colour against the background behind it."""

from __future__ import annotations

from typing import Any

#: WCAG 2 relative luminance and contrast, for every element with its own visible text.
CONTRAST_JS = """
() => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.a > 0.5) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("svg, .sr-only, [hidden]")) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    const fg = parse(style.color), bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    out.push({text: el.textContent.trim().slice(0, 40), ratio: (hi + 0.05) / (lo + 0.05), color: style.color,
              background: `rgb(${bg.r}, ${bg.g}, ${bg.b})`});
  }
  return out;
}
"""


async def low_contrast(page: Any, minimum: float = 4.5) -> list[dict[str, Any]]:
    """Texts under ``minimum``:1 (none expected); also returns nothing when the page shows no text at all."""
    found = await page.evaluate(CONTRAST_JS)
    assert found, "no text measured"
    return [t for t in found if t["ratio"] < minimum]
