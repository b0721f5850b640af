"""Colours and font families a site's own CSS uses, parsed with tinycss2.

Custom properties (`--brand-green: #1F4D3A`) are kept by name; every colour in a declaration is
counted, so the most used colours of the site come first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import tinycss2
import tinycss2.color3

RGB = tuple[int, int, int]
GENERIC_FAMILIES = {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui", "ui-sans-serif",
                    "ui-serif", "ui-monospace", "ui-rounded", "math", "emoji", "fangsong", "inherit", "initial",
                    "unset", "-apple-system", "blinkmacsystemfont"}
HEADING_SELECTORS = ("h1", "h2", "h3", "heading", "title", "display", "headline")
_COLOUR_PROPS = ("color", "background", "background-color", "border-color", "fill", "stroke", "outline-color",
                 "border", "border-top", "border-bottom", "text-decoration-color", "accent-color")


@dataclass
class CssFacts:
    """Colour usage and font families of one or more stylesheets."""

    colour_counts: Counter[RGB] = field(default_factory=Counter)
    colour_sources: dict[RGB, str] = field(default_factory=dict)  # first place each colour was seen
    custom_properties: dict[str, tuple[RGB, str]] = field(default_factory=dict)  # --name -> (colour, source)
    heading_families: Counter[str] = field(default_factory=Counter)
    body_families: Counter[str] = field(default_factory=Counter)
    family_stacks: dict[str, str] = field(default_factory=dict)  # first family -> the whole stack as written
    font_sources: dict[str, str] = field(default_factory=dict)


def _rgb(token: tinycss2.ast.Node) -> RGB | None:
    colour = tinycss2.color3.parse_color(token)
    if colour is None or isinstance(colour, str) or colour.alpha < 0.5:
        return None  # 'currentColor', unknown words and see-through colours say little about a brand
    return tuple(round(c * 255) for c in (colour.red, colour.green, colour.blue))  # type: ignore[return-value]


def _colours(value: list[tinycss2.ast.Node]) -> list[RGB]:
    found = []
    for token in value:
        if token.type in ("hash", "function", "ident"):
            rgb = _rgb(token)
            if rgb is not None:
                found.append(rgb)
    return found


def _families(value: list[tinycss2.ast.Node]) -> list[str]:
    """'"Work Sans", Helvetica, sans-serif' -> ['Work Sans', 'Helvetica', 'sans-serif']."""
    families, current = [], []
    for token in value + [tinycss2.ast.LiteralToken(0, 0, ",")]:
        if token.type == "literal" and token.value == ",":
            name = " ".join(current).strip()
            if name:
                families.append(name)
            current = []
        elif token.type == "string":
            current.append(token.value)
        elif token.type == "ident":
            current.append(token.value)
    return families


def _rules(nodes: list) -> list[tuple[str, list]]:
    """(selector text, declarations) for every style rule, including those inside @media."""
    out = []
    for node in nodes:
        if node.type == "qualified-rule":
            out.append((tinycss2.serialize(node.prelude).strip(), node.content))
        elif node.type == "at-rule" and node.content is not None and node.lower_at_keyword in ("media", "supports",
                                                                                                 "layer"):
            out += _rules(tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True))
    return out


def read_css(text: str, source: str, facts: CssFacts | None = None) -> CssFacts:
    """Add the colours and fonts of stylesheet `text` (found at `source`) to `facts`."""
    facts = facts or CssFacts()
    rules = _rules(tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True))
    for selector, content in rules:
        for decl in tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True):
            if decl.type != "declaration":
                continue
            name = decl.name if decl.name.startswith("--") else decl.lower_name
            if name.startswith("--"):
                found = _colours(decl.value)
                if len(found) == 1 and name not in facts.custom_properties:
                    facts.custom_properties[name] = (found[0], f"CSS custom property {name} in {source}")
                continue
            if name in _COLOUR_PROPS:
                for rgb in _colours(decl.value):
                    facts.colour_counts[rgb] += 1
                    facts.colour_sources.setdefault(rgb, f"{name} in {source} ({selector[:40]})")
            elif name == "font-family":
                stack = _families(decl.value)
                named = [f for f in stack if f.lower() not in GENERIC_FAMILIES and not f[0].isdigit()]
                if not named:
                    continue
                first = named[0]
                heading = any(h in selector.lower() for h in HEADING_SELECTORS)
                (facts.heading_families if heading else facts.body_families)[first] += 1
                facts.family_stacks.setdefault(first, ", ".join(stack))
                facts.font_sources.setdefault(first, f"font-family of {selector[:40]} in {source}")
    _count_var_uses(rules, facts)
    return facts


def _count_var_uses(rules: list[tuple[str, list]], facts: CssFacts) -> None:
    """`color: var(--brand)` counts as a use of the colour behind --brand."""
    for _, content in rules:
        for decl in tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True):
            if decl.type != "declaration" or decl.name.startswith("--"):
                continue
            for token in decl.value:
                if token.type == "function" and token.lower_name == "var" and token.arguments:
                    ref = tinycss2.serialize(token.arguments[:1]).strip()
                    if ref in facts.custom_properties:
                        facts.colour_counts[facts.custom_properties[ref][0]] += 1
