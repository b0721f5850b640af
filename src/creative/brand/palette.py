"""Choose a brand palette from what the site shows: theme-color, CSS custom properties, the most
used colours of its stylesheets and the logo's dominant colours.

Roles: `ink` (dark, for text and dark scrims), `paper` (light), `accent` (the CTA button) and an
optional `accent_2`. Each keeps the source it was taken from.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

from PIL import Image

from creative.brand.css import RGB, CssFacts
from creative.brand.site import Sourced
from creative.render.typography import contrast_ratio, luminance

DARK_MAX = 0.08  # relative luminance: text colour dark enough for light scenes
LIGHT_MIN = 0.75
MIN_CHROMA = 0.18  # below this a colour reads as grey, not as a brand colour
MAX_TEXT_CHROMA = 0.3  # ink and paper may be tinted (navy, cream), not vivid (purple text is an accent)
MIN_LOGO_SHARE = 0.08  # smaller logo "colours" are mostly anti-aliased edges
DISTINCT = 60  # RGB distance under which two colours count as one
DEFAULT_INK = Sourced("#111111", "default: the site shows no dark, muted colour for text")
DEFAULT_PAPER = Sourced("#FFFFFF", "default: the site shows no light, muted colour")
# custom property names that announce the brand's own colour
_BRAND_WORDS = ("brand", "primary", "accent", "main", "theme", "highlight", "cta")


@dataclass(frozen=True)
class Candidate:
    rgb: RGB
    source: str
    weight: float


@dataclass(frozen=True)
class Palette:
    ink: Sourced
    paper: Sourced
    accent: Sourced
    accent_2: Sourced | None
    cta_text: str  # "ink" or "paper": whichever reads better on the accent
    words: list[str]


def hex_of(rgb: RGB) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def parse_hex(value: str) -> RGB | None:
    """'#1f4d3a' or '#abc' -> RGB; anything else -> None."""
    v = value.strip().lstrip("#")
    if len(v) == 3:
        v = "".join(c * 2 for c in v)
    if len(v) != 6:
        return None
    try:
        return (int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16))
    except ValueError:
        return None


def chroma(rgb: RGB) -> float:
    return (max(rgb) - min(rgb)) / 255


def _distance(a: RGB, b: RGB) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


def logo_colours(logo: Image.Image, count: int = 4) -> list[tuple[RGB, float]]:
    """The logo's dominant opaque colours with their share of its opaque pixels, most first."""
    rgba = logo.convert("RGBA")
    rgba.thumbnail((128, 128))
    colours = rgba.getcolors(maxcolors=rgba.width * rgba.height) or []
    opaque = [c[:3] for n, c in colours if c[3] >= 128 for _ in range(n)]
    if not opaque:
        return []
    strip = Image.new("RGB", (len(opaque), 1))
    strip.putdata(opaque)
    quant = strip.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    palette = quant.getpalette() or []
    out = []
    for n, index in sorted(quant.getcolors() or [], reverse=True):
        if n / len(opaque) >= MIN_LOGO_SHARE:
            out.append((tuple(palette[index * 3:index * 3 + 3]), n / len(opaque)))
    return out  # type: ignore[return-value]


def candidates(theme_color: str | None, css: CssFacts, logo: list[tuple[RGB, float]]) -> list[Candidate]:
    """Every colour the site offers, weighted: declared brand colours count most."""
    found: list[Candidate] = []
    theme = parse_hex(theme_color) if theme_color else None
    if theme:
        found.append(Candidate(theme, '<meta name="theme-color">', 100))
    for name, (rgb, source) in css.custom_properties.items():
        brandish = any(w in name.lower() for w in _BRAND_WORDS)
        found.append(Candidate(rgb, source, 50 if brandish else 10 + css.colour_counts.get(rgb, 0)))
    total = sum(css.colour_counts.values()) or 1
    for rgb, n in css.colour_counts.most_common(24):
        source = f"{css.colour_sources.get(rgb, 'site CSS')}; used {n} time{'s' if n != 1 else ''}"
        found.append(Candidate(rgb, source, 30 * n / total + n * 0.5))
    for rgb, share in logo:
        found.append(Candidate(rgb, f"logo's dominant colour ({share:.0%} of its pixels)", 40 * share))
    return found


def _best(found: list[Candidate], keep, *, neutral_first: bool = False) -> Candidate | None:
    """The heaviest candidate `keep` accepts; for text colours a near-neutral one wins over a tinted one."""
    pool = [c for c in found if keep(c.rgb)]
    if not pool:
        return None
    return max(pool, key=lambda c: (neutral_first and chroma(c.rgb) < MIN_CHROMA, c.weight))


def palette_word(rgb: RGB) -> str:
    """A plain name for a colour, for scene prompts: 'deep green', 'soft coral', 'warm cream'."""
    h, l, s = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    if chroma(rgb) < 0.15:
        base = "black" if l < 0.15 else "charcoal" if l < 0.35 else "grey" if l < 0.75 else "white"
        return "warm cream" if base == "white" and rgb[0] > rgb[2] + 6 else base
    deg = h * 360
    names = [(8, "red"), (40, "coral" if l > 0.55 else "orange"), (65, "yellow"), (165, "green"),
             (200, "teal"), (255, "blue"), (290, "purple"), (335, "pink"), (361, "red")]
    hue = next(name for limit, name in names if deg < limit)
    tone = "deep" if l < 0.3 else "soft" if l > 0.7 else "muted" if s < 0.4 else ""
    return f"{tone} {hue}".strip()


def choose_palette(found: list[Candidate]) -> Palette:
    """Pick ink, paper and accents from the weighted candidates."""
    ink_c = _best(found, lambda rgb: luminance(rgb) <= DARK_MAX and chroma(rgb) <= MAX_TEXT_CHROMA,
                  neutral_first=True)
    paper_c = _best(found, lambda rgb: luminance(rgb) >= LIGHT_MIN and chroma(rgb) <= MAX_TEXT_CHROMA,
                    neutral_first=True)
    ink = Sourced(hex_of(ink_c.rgb), ink_c.source) if ink_c else DEFAULT_INK
    paper = Sourced(hex_of(paper_c.rgb), paper_c.source) if paper_c else DEFAULT_PAPER
    ink_rgb, paper_rgb = parse_hex(ink.value), parse_hex(paper.value)
    accent_c = _best(found, lambda rgb: chroma(rgb) >= MIN_CHROMA)
    if accent_c is None:
        # a monochrome site: its button is its ink
        accent = Sourced(ink.value, f"{ink.source} (the site has no saturated colour)")
        accent_rgb = ink_rgb
        accent_2 = None
    else:
        accent = Sourced(hex_of(accent_c.rgb), accent_c.source)
        accent_rgb = accent_c.rgb
        second = _best(found, lambda rgb: chroma(rgb) >= MIN_CHROMA and _distance(rgb, accent_c.rgb) > DISTINCT)
        accent_2 = Sourced(hex_of(second.rgb), second.source) if second else None
    lum = luminance(accent_rgb)
    cta_text = "ink" if contrast_ratio(lum, luminance(ink_rgb)) >= contrast_ratio(lum, luminance(paper_rgb)) else "paper"
    words = []
    for s in (accent, accent_2, paper, ink):
        if s is not None:
            word = palette_word(parse_hex(s.value))
            if word not in words:
                words.append(word)
    return Palette(ink=ink, paper=paper, accent=accent, accent_2=accent_2, cta_text=cta_text, words=words)
