"""Which columns each platform's export uses for the fields `creative` reads, and the --columns mapping file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from creative.core.errors import InputError
from creative.core.yaml_text import safe_load

FIELDS = ("ad_name", "day", "start", "end", "currency", "spend", "impressions", "clicks",
          "conversions", "conversion_value", "views_3s")
REQUIRED = ("ad_name", "spend", "impressions", "clicks")
CURRENCY_SUFFIX = re.compile(r"^(.*?)\s*\(([A-Z]{3})\)$")  # "Amount spent (USD)"


@dataclass(frozen=True)
class Spec:
    """A platform's headers: field -> accepted headers (lower case, currency suffix removed), first found wins."""

    platform: str
    columns: dict[str, tuple[str, ...]]
    segments: tuple[str, ...] = ()  # columns that split one ad's rows (campaign, ad set, breakdowns)
    skip_prefixes: tuple[str, ...] = ()  # first-cell prefixes of summary rows
    currency: str | None = None
    decimal: str | None = None
    marks: tuple[str, ...] = field(default=())  # headers only this platform uses, for --platform auto


META = Spec("meta", {
    "ad_name": ("ad name",), "day": ("day",), "start": ("reporting starts",), "end": ("reporting ends",),
    "currency": ("currency",), "spend": ("amount spent",), "impressions": ("impressions",),
    "clicks": ("link clicks", "clicks (all)"), "conversions": ("purchases", "website purchases", "results"),
    "conversion_value": ("purchases conversion value", "website purchases conversion value"),
    "views_3s": ("3-second video plays",),
}, segments=("campaign name", "ad set name", "age", "gender", "placement", "platform", "device platform", "country", "region"),
    marks=("amount spent", "reporting starts", "link clicks", "3-second video plays", "ad set name"))

TIKTOK = Spec("tiktok", {
    "ad_name": ("ad name",), "day": ("date", "by day", "day"), "currency": ("currency",),
    "spend": ("cost", "total cost"), "impressions": ("impressions",),
    "clicks": ("clicks (destination)", "clicks"), "conversions": ("conversions", "purchases", "complete payment"),
    "conversion_value": ("total purchase value", "purchase value", "total complete payment value"),
}, segments=("campaign name", "ad group name", "placement"), skip_prefixes=("total",),
    marks=("clicks (destination)", "ad group name", "total purchase value", "cost per conversion"))

GOOGLE = Spec("google", {
    "ad_name": ("ad name",), "day": ("day",), "currency": ("currency code", "currency"),
    "spend": ("cost",), "impressions": ("impr.", "impressions"), "clicks": ("clicks",),
    "conversions": ("conversions",), "conversion_value": ("conv. value", "conversion value", "all conv. value"),
}, segments=("campaign", "ad group"), skip_prefixes=("total:",),
    marks=("impr.", "conv. value", "currency code", "ad group", "cost / conv."))

PLATFORMS = {spec.platform: spec for spec in (META, TIKTOK, GOOGLE)}


def split_header(header: str) -> tuple[str, str | None]:
    """'Amount spent (USD)' -> ('amount spent', 'USD')."""
    match = CURRENCY_SUFFIX.match(header.strip())
    if match:
        return match.group(1).strip().lower(), match.group(2)
    return header.strip().lower(), None


def detect(header: list[str], path: Path) -> Spec:
    """The platform whose distinctive headers the file has most of."""
    names = {split_header(h)[0] for h in header}
    scores = {spec.platform: len(names & set(spec.marks)) for spec in PLATFORMS.values()}
    best = max(scores.values())
    winners = [p for p, s in scores.items() if s == best]
    if best == 0 or len(winners) > 1:
        raise InputError(f"{path}: cannot tell which platform exported it (headers: {', '.join(header)})",
                         hint="pass --platform meta|tiktok|google, or describe the columns with --columns FILE.yaml")
    return PLATFORMS[winners[0]]


def load_mapping(path: Path) -> Spec:
    """A --columns file for other exports:

        name: pinterest          # platform label stored with the rows
        columns: {ad_name: Creative, day: Date, spend: Spend, impressions: Impressions, clicks: Clicks}
        currency: USD            # when the file names none
        decimal: ","             # optional; detected otherwise
        segments: [Campaign]     # optional
    """
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the column mapping ({type(exc).__name__})") from None
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise InputError(f"{path}: a column mapping needs a 'columns:' mapping of field -> header",
                         hint=f"fields: {', '.join(FIELDS)}")
    unknown = [k for k in data["columns"] if k not in FIELDS]
    missing = [k for k in REQUIRED if k not in data["columns"]]
    if unknown or missing:
        raise InputError(f"{path}: " + "; ".join(filter(None, [
            f"unknown fields {', '.join(map(str, unknown))}" if unknown else "",
            f"missing fields {', '.join(missing)}" if missing else ""])), hint=f"fields: {', '.join(FIELDS)}")
    decimal = data.get("decimal")
    if decimal not in (None, ".", ","):
        raise InputError(f"{path}: decimal must be '.' or ','")
    columns = {k: (split_header(str(v))[0],) for k, v in data["columns"].items()}
    return Spec(str(data.get("name") or path.stem), columns,
                segments=tuple(str(s).lower() for s in data.get("segments") or ()),
                currency=data.get("currency"), decimal=decimal)
