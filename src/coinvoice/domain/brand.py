"""A merchant's brand colour on the payer page, kept readable: WCAG 2 contrast of at least 4.5:1 for every text
drawn in it or on it, in the light and the dark scheme. A colour that falls short is darkened (light scheme) or
lightened (dark scheme) just enough; the text on a brand-coloured button is black or white, whichever reads better.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coinvoice.domain.errors import Invalid

MIN_CONTRAST = 4.5
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
BLACK, WHITE = "#000000", "#ffffff"
#: The page's backgrounds that text may sit on (pay.css: page, card, ok/info/warn/bad notices), per scheme.
LIGHT_BACKGROUNDS = ("#ffffff", "#eef1f5", "#e6f4ea", "#e8f0fe", "#fef7e0", "#fce8e6")
DARK_BACKGROUNDS = ("#1b1f24", "#0f1216", "#12301d", "#15243d", "#33280c", "#3b1717")


def parse_color(value: str, field: str = "brandColor") -> str:
    """``#rrggbb`` in lower case; anything else is a 400 naming ``field``."""
    if not isinstance(value, str) or not _HEX.match(value):
        raise Invalid("invalid_color", f"{field} must be a colour like #1a73e8 (# and six hex digits)", field)
    return value.lower()


def _channels(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def luminance(color: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""

    def linear(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = _channels(color)
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours, 1 to 21."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def mix(color: str, toward: str, share: float) -> str:
    """``color`` moved ``share`` (0..1) of the way to ``toward``, per channel."""
    parts = (round(c + (t - c) * share) for c, t in zip(_channels(color), _channels(toward), strict=True))
    return "#" + "".join(f"{p:02x}" for p in parts)


def readable_on(color: str, backgrounds: tuple[str, ...], toward: str) -> str:
    """``color``, or the least step of it toward ``toward`` (black or white), that reads at 4.5:1 on every one
    of ``backgrounds``."""
    for step in range(21):
        candidate = mix(color, toward, step / 20)
        if min(contrast(candidate, bg) for bg in backgrounds) >= MIN_CONTRAST:
            return candidate
    return toward


def text_on(fill: str) -> str:
    """Black or white, whichever reads better on ``fill`` (at least 4.58:1 whatever the fill)."""
    return BLACK if contrast(fill, BLACK) >= contrast(fill, WHITE) else WHITE


@dataclass(frozen=True, slots=True)
class Scheme:
    accent: str  # links, outlines and the text of outlined buttons, on the page's backgrounds
    fill: str  # the background of the main buttons: the brand colour itself
    on_fill: str  # the text on it
    hover: str  # the main buttons under the pointer: the fill moved away from its text (more contrast)


@dataclass(frozen=True, slots=True)
class Palette:
    color: str
    light: Scheme
    dark: Scheme


def _scheme(color: str, backgrounds: tuple[str, ...], toward: str) -> Scheme:
    on_fill = text_on(color)
    away = WHITE if on_fill == BLACK else BLACK  # moving the fill away from its text raises the contrast
    return Scheme(readable_on(color, backgrounds, toward), color, on_fill, mix(color, away, 0.15))


def palette(color: str) -> Palette:
    color = parse_color(color)
    return Palette(color, _scheme(color, LIGHT_BACKGROUNDS, BLACK), _scheme(color, DARK_BACKGROUNDS, WHITE))


def _vars(s: Scheme) -> str:
    return f"--accent:{s.accent};--info-line:{s.accent};--accent-fill:{s.fill};--on-accent:{s.on_fill};--accent-hover:{s.hover}"


def stylesheet(color: str) -> str:
    """The payer page's brand stylesheet: the custom properties of pay.css, for light and for dark."""
    p = palette(color)
    return f":root{{{_vars(p.light)}}}\n@media (prefers-color-scheme: dark){{:root{{{_vars(p.dark)}}}}}\n"


def wire(color: str | None) -> dict[str, dict[str, str]] | None:
    """The colours the page actually uses, as the merchant's settings show them."""
    if color is None:
        return None
    p = palette(color)
    return {
        name: {"accent": s.accent, "buttonBackground": s.fill, "buttonText": s.on_fill}
        for name, s in (("light", p.light), ("dark", p.dark))
    }
