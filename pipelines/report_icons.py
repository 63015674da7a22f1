"""Making Data Count variation and assurance icons as inline SVG.

Each icon is drawn once as an SVG <symbol> and referenced with <use>, so ~300 series cost a few
bytes each. Shapes follow the MDC icon set: a coloured ring; a letter for the side of the signal
(H/L) or the assurance (P/F/?); a short run of points for variation.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from pipelines.report_charts import POINT_COLOURS

GREY, BLUE, ORANGE, PURPLE = (POINT_COLOURS[k] for k in ("common_cause", "improvement", "concern", "neutral"))

VARIATION_LABELS = {
    "common_cause": "Common cause variation",
    "improvement_high": "Special cause improvement (high)",
    "improvement_low": "Special cause improvement (low)",
    "concern_high": "Special cause concern (high)",
    "concern_low": "Special cause concern (low)",
    "neutral_high": "Special cause variation, neutral (high)",
    "neutral_low": "Special cause variation, neutral (low)",
}
ASSURANCE_LABELS = {
    "pass": "Consistently passes the target",
    "fail": "Consistently fails the target",
    "hit_and_miss": "Hit and miss against the target",
}
# Board sort order: what needs attention first.
VARIATION_RANK = {"concern_high": 0, "concern_low": 0, "neutral_high": 1, "neutral_low": 1, "common_cause": 2,
                  "improvement_high": 3, "improvement_low": 3}
ASSURANCE_RANK = {"fail": 0, "hit_and_miss": 1, "pass": 2}

_RISING = ((9, 32), (14.5, 31), (20, 32), (25.5, 28.5), (31, 26))
_FALLING = ((9, 26), (14.5, 27), (20, 26), (25.5, 29.5), (31, 32))
_FLAT = ((8, 22), (14, 17), (20, 23), (26, 17), (32, 21))


def _ring(colour: str) -> str:
    return f'<circle cx="20" cy="20" r="17.5" fill="#fff" stroke="{colour}" stroke-width="3"/>'


def _letter(text: str, colour: str, y: int, size: int) -> str:
    return (f'<text x="20" y="{y}" text-anchor="middle" font-family="Arial,Helvetica,sans-serif" '
            f'font-weight="700" font-size="{size}" fill="{colour}">{text}</text>')


def _run(points: tuple[tuple[float, float], ...], colour: str) -> str:
    line = " ".join(f"{x},{y}" for x, y in points)
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="1.8" fill="{colour if i >= 2 else GREY}"/>'
                   for i, (x, y) in enumerate(points))
    return f'<polyline points="{line}" fill="none" stroke="{GREY}" stroke-width="1.2"/>{dots}'


def _variation_body(code: str) -> str:
    if code == "common_cause":
        return _ring(GREY) + _run(_FLAT, GREY)
    kind, side = code.split("_")
    colour = {"improvement": BLUE, "concern": ORANGE, "neutral": PURPLE}[kind]
    trend = _RISING if side == "high" else _FALLING
    return _ring(colour) + _letter(side[0].upper(), colour, 21, 16) + _run(trend, colour)


def _assurance_body(code: str) -> str:
    colour, letter = {"pass": (BLUE, "P"), "fail": (ORANGE, "F"), "hit_and_miss": (GREY, "?")}[code]
    return _ring(colour) + _letter(letter, colour, 27, 19)


def icon_symbols() -> Markup:
    """Every icon once, as hidden <symbol>s the report's icons point at."""
    symbols = [f'<symbol id="mdc-{code}" viewBox="0 0 40 40">{_variation_body(code)}</symbol>'
               for code in VARIATION_LABELS]
    symbols += [f'<symbol id="mdc-{code}" viewBox="0 0 40 40">{_assurance_body(code)}</symbol>'
                for code in ASSURANCE_LABELS]
    return Markup('<svg xmlns="http://www.w3.org/2000/svg" style="display:none">' + "".join(symbols) + "</svg>")


def _use(code: str, label: str, size: int) -> Markup:
    return Markup(f'<svg class="mdc-icon" width="{size}" height="{size}" viewBox="0 0 40 40" role="img" '
                  f'aria-label="{escape(label)}"><title>{escape(label)}</title><use href="#mdc-{code}"/></svg>')


def variation_icon(code: str | None, size: int = 36) -> Markup:
    if code not in VARIATION_LABELS:
        return Markup('<span class="no-icon">no variation icon</span>')
    return _use(code, VARIATION_LABELS[code], size)


def no_assurance_reason(direction: str | None, target: float | None) -> str:
    """docs/spc.md: assurance needs a target and a non-neutral direction (and limits to compare it with)."""
    if direction == "neutral":
        return "neutral metric"
    return "no assurance: no target" if target is None else "no assurance: no limits yet"


def assurance_icon(code: str | None, direction: str | None, target: float | None, size: int = 36) -> Markup:
    if code not in ASSURANCE_LABELS:
        return Markup(f'<span class="no-icon">{escape(no_assurance_reason(direction, target))}</span>')
    return _use(code, ASSURANCE_LABELS[code], size)
