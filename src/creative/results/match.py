"""Join platform rows to what `creative` made: the ad's upload name (a file name it wrote) or a mapping CSV.

Never a silent guess: a name is matched exactly (case, spacing and extension aside), through the
mapping, or, when it contains exactly one known file name (a platform's "- Copy"), matched and
flagged as such. Everything else is unmatched and listed.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from creative.core.errors import InputError
from creative.results.parse import ad_key
from creative.store import experiments as experiments_table
from creative.store import results as results_table
from creative.store import runs as runs_table

AD_STEM = re.compile(r"^(?P<run>.+?)_v(?P<variant>\d{2,})_(?P<concept>[a-z0-9-]+)_(?P<w>\d+)x(?P<h>\d+)$")


@dataclass(frozen=True)
class Match:
    """What one ad name is: a variant of a run (arm B) or a labelled baseline ad (arm A)."""

    how: str  # "name", "mapping", "contained", "baseline"
    folder: str | None = None
    run_id: str | None = None
    variant: int | None = None
    concept: str | None = None
    ad_path: str | None = None  # relative to the run folder
    kind: str = "image"
    experiment: str | None = None
    campaign: str | None = None


class AdResolver:
    """Resolves ad keys against the run index, the ad-name mapping and the baseline labels."""

    def __init__(self, conn: sqlite3.Connection):
        runs = runs_table.all_runs(conn)
        self.runs = {r["run_id"].casefold(): r["folder"] for r in runs}  # run id (or folder name) -> folder
        for r in runs:
            self.runs.setdefault(r["folder"].casefold(), r["folder"])
        self.run_ids = {r["folder"]: r["run_id"] for r in runs}
        self.concepts = {(r["folder"], r["variant"]): r["concept"] for r in runs_table.all_variants(conn)}
        self.files: dict[str, tuple[str, int, str, str]] = {}
        for r in runs_table.all_ads(conn):
            key = ad_key(Path(r["path"]).name)
            # a variant's MP4 and JPEG of one size share a name but for the extension: keep the image (thumbnails)
            if key not in self.files or self.files[key][3] == "video":
                self.files[key] = (r["folder"], r["variant"], r["path"], r["kind"])
        self.mapping = results_table.ad_map(conn)
        self.baseline = {(r["ad_key"]): (r["experiment"], r["campaign"]) for r in experiments_table.baseline_ads(conn)}

    def resolve(self, key: str) -> Match | None:
        if key in self.baseline:
            experiment, campaign = self.baseline[key]
            return Match("baseline", experiment=experiment, campaign=campaign)
        if key in self.mapping:
            return self._variant(ad_key(self.mapping[key]), "mapping")
        found = self._variant(key, "name")
        if found is not None:
            return found
        contained = [k for k in self.files if k in key]
        return self._variant(contained[0], "contained") if len(contained) == 1 else None

    def _variant(self, key: str, how: str) -> Match | None:
        if key in self.files:
            folder, variant, path, kind = self.files[key]
            return Match(how, folder, self.run_ids[folder], variant, self.concepts.get((folder, variant)), path, kind)
        parsed = AD_STEM.match(key)
        folder = self.runs.get(parsed.group("run")) if parsed else None
        if folder is None or (folder, int(parsed.group("variant"))) not in self.concepts:
            return None
        variant = int(parsed.group("variant"))
        return Match(how, folder, self.run_ids[folder], variant, self.concepts[(folder, variant)])


def read_ad_map(path: Path) -> list[tuple[str, str, str]]:
    """A mapping CSV with columns 'ad name' and 'file': the platform's name -> the file `creative` wrote."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the ad mapping ({exc.strerror})") from None
    header = {(k or "").strip().lower(): k for k in (rows[0].keys() if rows else [])}
    if "ad name" not in header or "file" not in header:
        raise InputError(f"{path}: an ad mapping needs the columns 'ad name' and 'file'",
                         hint=f"found: {', '.join(repr(k) for k in header) or 'no header'}")
    entries = []
    for number, row in enumerate(rows, start=2):
        name, file = (row[header["ad name"]] or "").strip(), (row[header["file"]] or "").strip()
        if not name or not file:
            raise InputError(f"{path}: line {number} needs both an ad name and a file")
        entries.append((ad_key(name), name, Path(file).stem))
    return entries
