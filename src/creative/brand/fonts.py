"""Match the site's CSS font families to a font file the renderer can use.

An installed font of the same family (found with fontconfig's fc-match) is copied into the brand's
fonts/; otherwise the bundled Noto Sans is used. Either way the choice is written down.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

BUNDLED = {"bold": "NotoSans-Bold.ttf", "regular": "NotoSans-Regular.ttf"}
FONT_FILE = re.compile(r"\.(ttf|otf)$", re.I)


@dataclass(frozen=True)
class FontChoice:
    role: str  # "bold" or "regular"
    file: Path  # the file to copy into fonts/
    note: str  # what the site asked for and what is used


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def installed_match(family: str, role: str) -> tuple[str, Path] | None:
    """(family, file) of an installed font of exactly `family` in the role's weight, else None."""
    fc = shutil.which("fc-match")
    if fc is None:
        return None
    style = "Bold" if role == "bold" else "Regular"
    try:
        out = subprocess.run([fc, "-f", "%{family}\t%{file}", f"{family}:style={style}"], capture_output=True,
                             text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("fc-match failed: %s", exc)
        return None
    families, _, file = out.partition("\t")
    # fc-match always answers with something; only the same family counts as a match
    if _norm(family) not in {_norm(f) for f in families.split(",")} or not FONT_FILE.search(file):
        return None
    return families.split(",")[0], Path(file)


def choose_font(role: str, family: str | None, family_source: str | None, bundled_dir: Path) -> FontChoice:
    """The font file for `role` given the site's family (None when the site names none)."""
    if family:
        found = installed_match(family, role)
        if found:
            name, file = found
            return FontChoice(role, file, f"site font '{family}' ({family_source}): installed {name}, {file.name}")
        why = f"site font '{family}' ({family_source}) is not installed: bundled Noto Sans used; put the real " \
              f"font's .ttf/.otf in fonts/ and name it here"
    else:
        why = "the site's CSS names no font: bundled Noto Sans"
    return FontChoice(role, bundled_dir / BUNDLED[role], why)
