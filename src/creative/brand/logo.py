"""Turn the site's logo candidates into one checked RGBA logo image.

Candidates are tried in order (structured logo, header logo image or SVG, apple-touch-icon, the
largest icon); each download is size-capped, each raster is pixel-count-checked before decoding,
and SVG is rendered with resvg (a Rust renderer shipped as a wheel: no system libraries needed).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import resvg_py
from lxml import etree
from PIL import Image, UnidentifiedImageError

from creative.brand.download import Asset, AssetError
from creative.brand.site import LogoCandidate

log = logging.getLogger(__name__)

MAX_LOGO_BYTES = 2_000_000
MAX_LOGO_PIXELS = 16_000_000  # decoded size: a "logo" bigger than 4000x4000 is not one
MIN_LOGO_SIDE = 32  # a 16 px favicon is too small to print on an ad
LOGO_SIDE = 1024  # longest side of the logo.png written
IMAGE_TYPES = ("image/", "application/svg+xml", "text/xml", "application/xml")
_SVG_START = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!DOCTYPE[^>]*>\s*)?<svg\b", re.S | re.I)
SVG_NS = "http://www.w3.org/2000/svg"
XLINK = "{http://www.w3.org/1999/xlink}href"


@dataclass(frozen=True)
class Logo:
    image: Image.Image  # RGBA, trimmed to its content
    source: str


class LogoRejected(Exception):
    """This candidate is not a usable logo; the reason says why."""


def _is_svg(body: bytes, content_type: str = "") -> bool:
    return "svg" in content_type or bool(_SVG_START.match(body[:4096]))


def _safe_svg(markup: bytes) -> str:
    """The SVG as text, with a namespace, and without <image>s that point at files or URLs.

    resvg would load a referenced local file; only embedded data: images may stay.
    """
    try:
        root = etree.fromstring(markup, etree.XMLParser(resolve_entities=False, no_network=True, recover=True))
    except etree.XMLSyntaxError as exc:
        raise LogoRejected(f"SVG unreadable ({exc})") from None
    if root is None:
        raise LogoRejected("SVG unreadable")
    if not root.tag.startswith("{"):
        # inline SVG parsed from HTML has no namespace; resvg needs one
        for el in root.iter():
            if isinstance(el.tag, str) and not el.tag.startswith("{"):
                el.tag = f"{{{SVG_NS}}}{el.tag}"
    for el in list(root.iter(f"{{{SVG_NS}}}image", f"{{{SVG_NS}}}use", f"{{{SVG_NS}}}feImage")):
        href = el.get("href") or el.get(XLINK) or ""
        if href and not href.startswith(("data:", "#")):
            el.getparent().remove(el)
    return etree.tostring(root, encoding="unicode")


def render_svg(markup: bytes) -> Image.Image:
    """Render SVG to RGBA at LOGO_SIDE on its longest side."""
    text = _safe_svg(markup)
    try:
        first = Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=text))))
        zoom = LOGO_SIDE / max(first.size)
        png = bytes(resvg_py.svg_to_bytes(svg_string=text, zoom=zoom))
    except (ValueError, OSError) as exc:
        raise LogoRejected(f"SVG could not be rendered ({exc})") from None
    return Image.open(io.BytesIO(png)).convert("RGBA")


def decode_raster(body: bytes) -> Image.Image:
    """Decode PNG/JPEG/WebP/GIF/ICO after checking its pixel count from the header."""
    try:
        im = Image.open(io.BytesIO(body))
        if im.format == "ICO":
            im.size = max(im.ico.sizes())  # the largest image an .ico holds
        w, h = im.size
        if w * h > MAX_LOGO_PIXELS:
            raise LogoRejected(f"{w}x{h} pixels, over the {MAX_LOGO_PIXELS:,}-pixel limit")
        im.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise LogoRejected(f"not a readable image ({exc})") from None
    return im.convert("RGBA")


def tidy(image: Image.Image) -> Image.Image:
    """Trim transparent margins and fit the longest side to LOGO_SIDE at most."""
    box = image.getchannel("A").getbbox()
    if box is None:
        raise LogoRejected("fully transparent")
    image = image.crop(box)
    if min(image.size) < MIN_LOGO_SIDE and max(image.size) < MIN_LOGO_SIDE * 2:
        raise LogoRejected(f"{image.width}x{image.height} pixels is too small for an ad")
    if max(image.size) > LOGO_SIDE:
        scale = LOGO_SIDE / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.LANCZOS)
    return image


def load_candidate(candidate: LogoCandidate, fetch: Callable[[str], Asset]) -> Logo:
    """Download (or take inline) one candidate and decode it; raises LogoRejected."""
    if candidate.svg is not None:
        return Logo(tidy(render_svg(candidate.svg.encode("utf-8"))), candidate.source)
    assert candidate.url is not None
    try:
        asset = fetch(candidate.url)
    except AssetError as exc:
        raise LogoRejected(str(exc)) from None
    image = render_svg(asset.body) if _is_svg(asset.body, asset.content_type) else decode_raster(asset.body)
    return Logo(tidy(image), candidate.source)


def first_logo(candidates: list[LogoCandidate], fetch: Callable[[str], Asset]) -> tuple[Logo | None, list[str]]:
    """The first candidate that yields a usable logo, and why each earlier one was passed over."""
    skipped: list[str] = []
    seen: set[str] = set()
    for candidate in candidates:
        key = candidate.url or candidate.svg or ""
        if key in seen:
            continue
        seen.add(key)
        try:
            return load_candidate(candidate, fetch), skipped
        except LogoRejected as exc:
            skipped.append(f"{candidate.source}: {exc}")
            log.info("logo candidate passed over: %s: %s", candidate.source, exc)
    return None, skipped
