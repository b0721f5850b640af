"""Write brand.yaml for a brand built from a site, with a comment above every value saying where it came from."""

from __future__ import annotations

import json
from dataclasses import dataclass

from creative.brand.fonts import FontChoice
from creative.brand.palette import Palette, parse_hex
from creative.brand.site import Sourced
from creative.brand.voice import Voice
from creative.render.typography import contrast_ratio, luminance


@dataclass(frozen=True)
class KitFacts:
    """Everything brand.yaml is written from."""

    url: str
    name: Sourced
    palette: Palette
    fonts: dict[str, tuple[str, FontChoice]]  # role -> (file name in fonts/, choice)
    fallback_fonts: list[str]
    logo_source: str
    voice: Voice | None


def _q(value: str) -> str:
    """A YAML scalar: JSON strings are valid YAML and escape everything."""
    return json.dumps(value, ensure_ascii=False)


def _c(text: str) -> str:
    return "# " + " ".join(text.split())


def brand_yaml(facts: KitFacts, when: str) -> str:
    """The brand.yaml text."""
    p = facts.palette
    colours = [("ink", p.ink), ("paper", p.paper), ("accent", p.accent)] + ([("accent_2", p.accent_2)] if p.accent_2 else [])
    cta_rgb, text_rgb = parse_hex(p.accent.value), parse_hex(getattr(p, p.cta_text).value)
    ratio = contrast_ratio(luminance(cta_rgb), luminance(text_rgb))
    lines = [
        f"# {facts.name.value} brand kit, made by `creative brand init --url {facts.url}` on {when}.",
        "# The comment above each value says where it came from. Edit freely: `creative` validates every key",
        "# and names the one that is wrong. Look at brand_preview.png before the first run.",
        _c(f"from {facts.name.source}"),
        f"name: {_q(facts.name.value)}",
        "",
        "# Colours by name (hex #RRGGBB). Layouts and the CTA refer to these names.",
        "colors:",
    ]
    for key, value in colours:
        lines += [f"  {_c(value.source)}", f"  {key}: {_q(value.value)}"]
    lines += [
        "# Colours \"auto\" text may use (the accent is kept for the button).",
        "text_colors: [ink, paper]",
        "# Scrims behind text when no text colour is readable on the scene: the darkest colour behind light text,",
        "scrim_dark: ink",
        "# and the lightest colour behind dark text.",
        "scrim_light: paper",
        "",
        "# Font roles -> files in fonts/.",
        "fonts:",
    ]
    for role, (file, choice) in facts.fonts.items():
        lines += [f"  {_c(choice.note)}", f"  {role}: {_q(file)}"]
    lines += [
        "# Bundled; tried in order for characters the brand fonts lack (accents, other scripts, symbols).",
        "fallback_fonts: [" + ", ".join(_q(f) for f in facts.fallback_fonts) + "]",
        "",
        _c(f"from {facts.logo_source}"),
        "logo: logo.png",
        "",
        "cta:",
        "  # a common default: change it to the site's own button wording",
        "  text: \"Shop now\"",
        "  # the site's accent colour (see colors.accent)",
        "  background: accent",
        f"  # the palette colour that reads best on the accent: {ratio:.1f}:1",
        f"  text_color: {p.cta_text}",
        "  # corner radius as a share of button height, 0.5 is a pill (default)",
        "  radius: 0.5",
        "  # horizontal padding in ems (default)",
        "  padding_x: 0.9",
        "  # vertical padding in ems (default)",
        "  padding_y: 0.45",
        "",
    ]
    if facts.voice:
        said = "; ".join(f"'{s[:80]}'" for s in facts.voice.samples[:3])
        lines += [_c(f"hints read from the page's description and headlines ({said}); rewrite in your words"),
                  f"voice: {_q(facts.voice.summary)}"]
    else:
        lines += ["# the page has no description or headlines to read a voice from: describe it here",
                  'voice: ""']
    lines += [
        "# words your ads must never use: none found on a site, add your own",
        "banned_words: []",
        "# the light and feel of the scenes behind the ads: not on a site, describe it here",
        'mood: ""',
        "# the palette in words, for the scene prompts (from the colours above)",
        "palette_words: [" + ", ".join(_q(w) for w in p.words) + "]",
    ]
    return "\n".join(lines) + "\n"
