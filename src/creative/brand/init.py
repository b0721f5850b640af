"""`creative brand init`: build a brand folder from the brand's own site.

Fetch the page (static or browser backend, research limits and robots.txt), read its name, logo,
palette, fonts and voice, and write brand.yaml, logo.png, fonts/, layouts/ and brand_preview.png.
The folder is assembled beside its destination and moved into place at the end, so a failure
leaves nothing half-written, and an existing folder is replaced only with `force`.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import httpx
from PIL import Image, ImageDraw, ImageFont

from creative.brand.css import CssFacts, read_css
from creative.brand.download import AssetError, fetch_asset, new_client
from creative.brand.fonts import FontChoice, choose_font
from creative.brand.kit import load_brand
from creative.brand.kit_yaml import KitFacts, brand_yaml
from creative.brand.logo import IMAGE_TYPES, MAX_LOGO_BYTES, Logo, first_logo
from creative.brand.palette import candidates, choose_palette, logo_colours, parse_hex
from creative.brand.preview import render_preview, sample_concept, write_preview
from creative.brand.site import SiteFacts, Sourced, read_site
from creative.brand.voice import voice_hints
from creative.core.atomic import FILE_MODE, write_atomic
from creative.core.errors import InputError
from creative.core.text import slugify

log = logging.getLogger(__name__)

MAX_STYLESHEETS = 12
MAX_CSS_BYTES = 2_000_000
LICENCES = ("OFL.txt", "DejaVu-LICENSE.txt")
# Noto Sans covers Latin, Vietnamese, Greek and Cyrillic; DejaVu Sans the symbols. Noto Sans Regular is
# always copied: the run's contact sheet labels are drawn with it.
FALLBACK_FONTS = ("NotoSans-Regular.ttf", "DejaVuSans.ttf")


@dataclass(frozen=True)
class FetchLimits:
    """The research settings brand init follows."""

    timeout_s: float = 15.0
    max_bytes: int = 5_000_000
    ignore_robots: bool = False
    chromium_path: str | None = None


@dataclass
class BrandKitResult:
    folder: Path
    name: Sourced
    logo_source: str
    replaced: bool
    notes: list[str] = field(default_factory=list)  # what the user should know: passed-over logos, defaults


def _check_url(url: str) -> None:
    if urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
        raise InputError(f"brand init needs the site's http(s):// address, got {url!r}",
                         hint="pass the shop's home page, e.g. --url https://www.example.com")


def refuse_existing(folder: Path, force: bool) -> None:
    """Stop before any work when `folder` exists and --force was not given."""
    if folder.exists() and not force:
        raise InputError(f"brand folder {folder} already exists; nothing was changed",
                         hint="pass --force to replace it, or --out to write the brand elsewhere")


def fetch_page(url: str, backend: str, limits: FetchLimits, transport: httpx.BaseTransport | None = None,
               browser=None) -> tuple[str, str]:
    """(HTML, final URL) of the page with the research backend's own rules."""
    from creative.research.browser import render_page
    from creative.research.robots import check_robots
    from creative.research.static import fetch_html

    if not limits.ignore_robots:
        check_robots(url, transport=transport, timeout_s=limits.timeout_s)
    if backend == "browser":
        page = render_page(url, executable_path=limits.chromium_path, timeout_s=limits.timeout_s,
                           max_bytes=limits.max_bytes, session=browser)
        return page.html, page.final_url
    if backend != "static":
        raise InputError(f"brand init reads a site with the static or browser backend, not {backend!r}",
                         hint="use --research static or --research browser")
    page = fetch_html(url, transport=transport, timeout_s=limits.timeout_s, max_bytes=limits.max_bytes)
    return page.html, page.final_url


def _same_site(a: str, b: str) -> bool:
    """The site's own stylesheets: same host or a subdomain of it (not font or widget CDNs)."""
    ha, hb = (urlparse(u).hostname or "" for u in (a, b))
    ha, hb = ha.removeprefix("www."), hb.removeprefix("www.")
    return ha == hb or ha.endswith("." + hb) or hb.endswith("." + ha)


def read_styles(site: SiteFacts, client: httpx.Client, timeout_s: float, notes: list[str]) -> CssFacts:
    css = CssFacts()
    for sheet in [s for s in site.stylesheets if _same_site(s, site.url)][:MAX_STYLESHEETS]:
        try:
            asset = fetch_asset(sheet, accept=("text/css", "text/plain"), max_bytes=MAX_CSS_BYTES,
                                timeout_s=timeout_s, client=client)
        except AssetError as exc:
            notes.append(f"stylesheet skipped: {exc}")
            continue
        read_css(asset.body.decode("utf-8", "replace"), urlparse(sheet).path or sheet, css)
    for block in site.inline_css:
        read_css(block.value, block.source, css)
    return css


def wordmark(name: str, font_file: Path, colour: tuple[int, int, int]) -> Image.Image:
    """A plain wordmark of the name, for a site without a usable logo."""
    font = ImageFont.truetype(io.BytesIO(font_file.read_bytes()), 160)
    left, top, right, bottom = font.getbbox(name)
    image = Image.new("RGBA", (right - left + 20, bottom - top + 20), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((10 - left, 10 - top), name, font=font, fill=(*colour, 255))
    return image


def _font_files(choices: dict[str, FontChoice]) -> dict[str, tuple[str, FontChoice]]:
    """File name in fonts/ per role; distinct files keep their own names."""
    return {role: (choice.file.name, choice) for role, choice in choices.items()}


def _assemble(tmp: Path, sample_dir: Path, facts: KitFacts, logo: Image.Image, site: SiteFacts) -> None:
    fonts = tmp / "fonts"
    fonts.mkdir()
    for _, (file, choice) in facts.fonts.items():
        shutil.copyfile(choice.file, fonts / file)
    for name in FALLBACK_FONTS:
        shutil.copyfile(sample_dir / "fonts" / name, fonts / name)
    for licence in LICENCES:
        if (sample_dir / "fonts" / licence).is_file():
            shutil.copyfile(sample_dir / "fonts" / licence, fonts / licence)
    shutil.copytree(sample_dir / "layouts", tmp / "layouts")
    buf = io.BytesIO()
    logo.save(buf, "PNG", optimize=True)
    write_atomic(tmp / "logo.png", buf.getvalue())
    write_atomic(tmp / "brand.yaml", brand_yaml(facts, date.today().isoformat()))
    brand = load_brand(tmp)  # what we wrote must load exactly as a hand-written one would
    concept = sample_concept(site.headlines[0] if site.headlines else None, site.description)
    write_preview(render_preview(tmp, brand, source_url=facts.url, concept=concept), tmp / "brand_preview.png")


def _move_into_place(tmp: Path, folder: Path) -> bool:
    """Swap the finished folder in; an old one is removed only once the new one is in place."""
    replaced = folder.exists()
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}") if replaced else None
    if old is not None:
        os.replace(folder, old)
    try:
        os.replace(tmp, folder)
    except OSError:
        if old is not None:
            os.replace(old, folder)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return replaced


def build_brand_kit(
    url: str,
    *,
    out: Path | None,
    brands_dir: Path,
    sample_dir: Path,
    backend: str = "static",
    force: bool = False,
    limits: FetchLimits = FetchLimits(),
    transport: httpx.BaseTransport | None = None,
    browser=None,
) -> BrandKitResult:
    """Read the site at `url` and write its brand folder (`out`, default brands/<name>)."""
    _check_url(url)
    if out is not None:
        refuse_existing(out, force)
    html, final_url = fetch_page(url, backend, limits, transport, browser)
    site = read_site(html, final_url)
    notes: list[str] = []
    name = site.name or Sourced(urlparse(final_url).hostname or "brand", "the site's host name (no name found)")
    folder = (out if out is not None else brands_dir / slugify(name.value, fallback="brand")).resolve()
    refuse_existing(folder, force)

    with new_client(limits.timeout_s, transport) as client:
        css = read_styles(site, client, limits.timeout_s, notes)
        logo, skipped = first_logo(site.logos, lambda u: fetch_asset(
            u, accept=IMAGE_TYPES, max_bytes=min(MAX_LOGO_BYTES, limits.max_bytes), timeout_s=limits.timeout_s,
            client=client))
    notes += [f"logo candidate passed over: {s}" for s in skipped]
    palette = choose_palette(candidates(site.theme_color, css, logo_colours(logo.image) if logo else []))
    heading = css.heading_families.most_common(1)[0][0] if css.heading_families else None
    body = css.body_families.most_common(1)[0][0] if css.body_families else None
    heading, body = heading or body, body or heading
    choices = {
        "bold": choose_font("bold", heading, css.font_sources.get(heading or ""), sample_dir / "fonts"),
        "regular": choose_font("regular", body, css.font_sources.get(body or ""), sample_dir / "fonts"),
    }
    if logo is None:
        logo = Logo(wordmark(name.value, choices["bold"].file, parse_hex(palette.accent.value)),
                    "no usable logo on the site: a wordmark of the name was drawn; replace logo.png with yours")
        notes.append(logo.source)
    fonts = _font_files(choices)
    used = {file for file, _ in fonts.values()}
    facts = KitFacts(url=url, name=name, palette=palette, fonts=fonts,
                     fallback_fonts=[f for f in FALLBACK_FONTS if f not in used],
                     logo_source=logo.source, voice=voice_hints(site.description, site.headlines))

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    os.chmod(tmp, FILE_MODE | (FILE_MODE & 0o444) >> 2)  # mkdtemp's 0700 would outlive the rename
    try:
        _assemble(tmp, sample_dir, facts, logo.image, site)
        replaced = _move_into_place(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("wrote brand kit %s for %s", folder, name.value)
    return BrandKitResult(folder=folder, name=name, logo_source=logo.source, replaced=replaced, notes=notes)
