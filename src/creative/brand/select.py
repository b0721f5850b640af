"""Which brand a run uses, and what a run says about it.

Brands live side by side in `brands/<name>/` (a single `brand/` folder still works). A brand is
chosen with `--brand NAME` or `brand: NAME` in creative.yaml; with no choice, the only brand there
is, else the bundled sample, which a run then says it is using and how to make one's own.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from creative.brand.kit import brand_name
from creative.core.config import SOURCE_ROOT, Settings
from creative.core.errors import ConfigError
from creative.core.text import slugify

log = logging.getLogger(__name__)

SAMPLE_DIR = SOURCE_ROOT / "brand"
INIT_COMMAND = "creative brand init --url https://your-shop.example"
# legal-form words that differ between a site's name and a brand kit's without naming another brand
_NOISE = {"inc", "ltd", "llc", "gmbh", "co", "company", "the", "shop", "store", "official", "online", "sas", "srl"}


@dataclass(frozen=True)
class BrandChoice:
    """The brand folder a run uses and why."""

    folder: Path
    name: str  # brand.yaml name
    reason: str  # how it was chosen, for stderr and the runlog
    sample: bool  # the bundled sample brand

    def record(self) -> dict:
        """The runlog's `brand` entry."""
        return {"name": self.name, "folder": str(self.folder), "reason": self.reason, "sample": self.sample}


def _is_sample(folder: Path) -> bool:
    try:
        return folder.resolve() == SAMPLE_DIR.resolve()
    except OSError:
        return False


def own_brand_folders(settings: Settings) -> list[Path]:
    """The user's own brands: brands/<name>/ folders and a ./brand/ that is not the bundled sample."""
    found = []
    brands_dir = settings.paths.brands_dir
    if brands_dir.is_dir():
        found += sorted(p for p in brands_dir.iterdir() if (p / "brand.yaml").is_file())
    single = Path.cwd() / "brand"
    if (single / "brand.yaml").is_file() and not _is_sample(single):
        found.append(single)
    return found


def _key(text: str) -> str:
    return slugify(text, max_len=200)


def _choice(folder: Path, reason: str) -> BrandChoice:
    return BrandChoice(folder=folder.resolve(), name=brand_name(folder), reason=reason, sample=_is_sample(folder))


def find_brand(name: str, settings: Settings) -> BrandChoice:
    """The brand called `name`: a folder name, or the name in its brand.yaml (case and accents ignored)."""
    wanted = _key(name)
    folders = own_brand_folders(settings) + [SAMPLE_DIR]
    for folder in folders:
        if folder.name == name or _key(folder.name) == wanted:
            return _choice(folder, f"--brand/brand setting '{name}'")
    for folder in folders:
        try:
            if _key(brand_name(folder)) == wanted:
                return _choice(folder, f"--brand/brand setting '{name}'")
        except ConfigError:
            continue
    known = ", ".join(_label(f) for f in folders)
    raise ConfigError(f"no brand named '{name}' (brands: {known})",
                      hint=f"make it with `{INIT_COMMAND} --out {settings.paths.brands_dir / slugify(name)}`, "
                           "or pass one of the names listed")


def _label(folder: Path) -> str:
    return f"{folder.name} (bundled sample)" if _is_sample(folder) else folder.name


def resolve_brand(settings: Settings) -> BrandChoice:
    """The brand a command uses: named > paths.brand_dir > the only own brand > the bundled sample.

    Several brands and no choice is an error listing them; a brand is never picked silently.
    """
    if settings.brand:
        return find_brand(settings.brand, settings)
    if settings.paths.brand_dir is not None:
        return _choice(settings.paths.brand_dir, "brand folder given (paths.brand_dir, or chosen for this command)")
    own = own_brand_folders(settings)
    if len(own) == 1:
        return _choice(own[0], f"the only brand in {own[0].parent}")
    if len(own) > 1:
        raise ConfigError(f"several brands found ({', '.join(f.name for f in own)}) and none chosen",
                          hint="choose one with --brand NAME, or set `brand: NAME` in creative.yaml")
    return _choice(SAMPLE_DIR, "no brand of your own found (brands/ or brand/)")


def recorded_brand(entry: dict | None, run_name: str) -> BrandChoice | None:
    """The brand a run was made with (its runlog's `brand` entry), while that folder still exists."""
    folder = Path(entry["folder"]) if isinstance(entry, dict) and isinstance(entry.get("folder"), str) else None
    if folder is None or not (folder / "brand.yaml").is_file():
        return None
    return _choice(folder, f"the brand {run_name} was made with")


def use_brand(settings: Settings, name: str | None = None, recorded: BrandChoice | None = None) -> BrandChoice:
    """Resolve the brand and point settings.brand_dir at it.

    `name` (--brand) wins; then, for a command on an existing run, the brand that run recorded; then
    resolve_brand's order.
    """
    if name:
        settings.brand = name
    choice = None if name else recorded
    choice = choice or resolve_brand(settings)
    settings.paths.brand_dir = choice.folder
    return choice


def _norm(name: str) -> str:
    """'The Lumen Skin Co.' -> 'lumen skin': ASCII words without legal-form words."""
    return " ".join(w for w in slugify(name, max_len=200).split("-") if w and w not in _NOISE)


def _same_brand(found: str, used: str) -> bool:
    a, b = _norm(found), _norm(used)
    if not a or not b:
        return True  # nothing comparable (e.g. a name in a script slugs drop): no claim either way
    # "Northbean" vs "Northbean Roasters": one name inside the other is the same brand
    return a == b or f" {a} " in f" {b} " or f" {b} " in f" {a} " or a.replace(" ", "") == b.replace(" ", "")


def brand_mismatch(researched_brand: str | None, site_name: str | None, brand: str) -> str | None:
    """Warning text when the researched page belongs to another brand than the one in use, else None."""
    found = [n.strip() for n in (researched_brand, site_name) if n and n.strip()]
    if not found or any(_same_brand(n, brand) for n in found):
        return None
    return (f"this page is from '{found[0]}', but the ads use the brand kit '{brand}': "
            f"make its kit with `creative brand init --url <its home page>` and run with --brand, "
            f"or choose another brand with --brand NAME")


def sample_brand_hint(choice: BrandChoice, used_before: bool) -> str | None:
    """On the first run with the bundled sample brand (`used_before`: an earlier run used it): how to
    make one's own. None otherwise."""
    if not choice.sample or used_before:
        return None
    return (f"this run uses the bundled sample brand '{choice.name}' (logo, colours, fonts); "
            f"make your own with `{INIT_COMMAND}` (it writes brands/<name>/), then run with --brand NAME")


def product_slug(url: str | None = None, product: str | None = None) -> str:
    """A short name for the product: the brief's product, else the page address's last part."""
    if product:
        return slugify(product, max_len=32)
    if not url:
        return ""
    path = unquote(urlparse(url).path if "://" in url else url).rstrip("/")
    last = path.rsplit("/", 1)[-1]
    last = re.sub(r"\.(html?|php|aspx?)$", "", last, flags=re.I)
    return slugify(last, max_len=32)


def run_folder_name(now: float, brand: str, channel: str, *, url: str | None = None,
                    product: str | None = None) -> str:
    """`<YYYYMMDD-HHMMSS>-<brand>-<product>-<channel>`: the brand in use and the product."""
    parts = [datetime.fromtimestamp(now).strftime("%Y%m%d-%H%M%S"), slugify(brand, fallback="brand"),
             product_slug(url, product), slugify(channel, fallback="channel")]
    return "-".join(p for p in parts if p)
