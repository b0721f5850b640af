"""The run folder: every file and sub-folder name, and one reader and one writer for each file.

Only this module spells a run-folder name. Engines (research, generation, compose, report) are
handed the paths they write, so the layout can change here without touching them.

    runs/                      RunsRoot: the budget ledger, the cache and the database beside the runs
      <run_id>/                RunFolder
        research.json  research.md  screenshot.png  brief.md  prompts.json
        backgrounds/vNN.png  ads/  video/  contact_sheet.png  index.html  runlog.json
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from creative.copy.brief import read_brief, write_brief
from creative.core.atomic import write_atomic
from creative.core.errors import CreativeError, InputError
from creative.copy.writer_notes import save_brief
from creative.core.models import Brief, PromptSet, WriterRecord
from creative.run.runlog import RUNLOG_VERSION, RunLog, read_runlog, write_runlog

LEDGER_NAME = "budget.jsonl"
CACHE_DIR_NAME = ".cache"  # backgrounds by the hash of their final graph
DATABASE_NAME = "creative.sqlite"
BATCHES_DIR_NAME = ".batches"  # catalog runs: one folder each, beside the run folders they made


@dataclass(frozen=True)
class RunsRoot:
    """The runs folder: run folders side by side, with the ledger, cache and database beside them."""

    path: Path

    @property
    def ledger(self) -> Path:
        return self.path / LEDGER_NAME

    @property
    def cache(self) -> Path:
        return self.path / CACHE_DIR_NAME

    @property
    def llm_cache(self) -> Path:
        """Copywriter answers, by the hash of their request."""
        return self.cache / "llm"

    @property
    def database(self) -> Path:
        return self.path / DATABASE_NAME

    @property
    def batches(self) -> Path:
        return self.path / BATCHES_DIR_NAME

    def create_batch(self, base: str) -> BatchFolder:
        """Create `.batches/<base>` (the batch id); a numeric suffix keeps parallel batches apart."""
        self.batches.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 1000):
            path = self.batches / (base if attempt == 1 else f"{base}-{attempt}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return BatchFolder(path.resolve())
        raise CreativeError(f"cannot create a unique batch folder under {self.batches}")

    def runs(self) -> list[RunFolder]:
        """Every run folder, oldest first (run ids start with their time)."""
        if not self.path.is_dir():
            return []
        return [RunFolder(p) for p in sorted(self.path.iterdir(), key=lambda p: p.name)
                if p.is_dir() and not p.name.startswith(".")]

    def create_run(self, base: str) -> RunFolder:
        """Create `<base>` (the run id); a numeric suffix keeps parallel runs apart."""
        self.path.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 1000):
            run_id = base if attempt == 1 else f"{base}-{attempt}"
            try:
                (self.path / run_id).mkdir()
            except FileExistsError:
                continue
            return RunFolder((self.path / run_id).resolve())  # absolute: the printed path works anywhere
        raise CreativeError(f"cannot create a unique run folder under {self.path}")


@dataclass(frozen=True)
class RunFolder:
    """One run's folder: where each of its files lives, and how each is read and written."""

    path: Path

    # --- names ----------------------------------------------------------------------

    @property
    def research_json(self) -> Path:
        return self.path / "research.json"

    @property
    def research_md(self) -> Path:
        return self.path / "research.md"

    @property
    def screenshot(self) -> Path:
        return self.path / "screenshot.png"

    @property
    def brief(self) -> Path:
        return self.path / "brief.md"

    @property
    def prompts(self) -> Path:
        return self.path / "prompts.json"

    @property
    def runlog(self) -> Path:
        return self.path / "runlog.json"

    @property
    def backgrounds(self) -> Path:
        return self.path / "backgrounds"

    def background(self, variant: int) -> Path:
        """`backgrounds/vNN.png`, two digits (v01 ... v99, then v100)."""
        return self.backgrounds / f"v{variant:02d}.png"

    @property
    def ads(self) -> Path:
        return self.path / "ads"

    @property
    def video(self) -> Path:
        return self.path / "video"

    @property
    def contact_sheet(self) -> Path:
        return self.path / "contact_sheet.png"

    @property
    def gallery(self) -> Path:
        return self.path / "index.html"

    @property
    def root(self) -> RunsRoot:
        return RunsRoot(self.path.parent)

    def relative(self, path: Path) -> str:
        """A path inside the folder as the runlog records it: relative, with forward slashes."""
        return Path(path).relative_to(self.path).as_posix()

    def files(self, since: float = 0.0, limit: int = 12) -> list[str]:
        """The files written since `since` (a time stamp), for errors that say what was already written."""
        return sorted(self.relative(p) for p in self.path.rglob("*")
                      if p.is_file() and not p.name.startswith(".") and p.stat().st_mtime >= since)[:limit]

    # --- readers and writers ----------------------------------------------------------

    def read_runlog(self) -> RunLog:
        """The runlog, or InputError naming the file and what is wrong with it."""
        if not self.runlog.is_file():
            raise InputError(f"{self.path}: no {self.runlog.name}; this is not a run folder that can be continued")
        try:
            runlog = read_runlog(self.runlog)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.runlog}: cannot be read ({str(exc).splitlines()[0]})") from None
        if runlog.version > RUNLOG_VERSION:
            raise InputError(f"{self.path}: runlog version {runlog.version} is newer than this creative; upgrade creative")
        return runlog

    def write_runlog(self, runlog: RunLog) -> None:
        write_runlog(runlog, self.runlog)

    def read_prompts(self) -> PromptSet:
        try:
            return PromptSet.model_validate_json(self.prompts.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{self.path}: no {self.prompts.name}; this is not a run folder that can be continued") from None
        except (ValidationError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.prompts}: not a valid prompts file ({str(exc).splitlines()[0]})") from None

    def write_prompts(self, prompts: PromptSet) -> None:
        write_atomic(self.prompts, prompts.model_dump_json(indent=2) + "\n")

    def read_brief(self) -> Brief:
        if not self.brief.is_file():
            raise InputError(f"{self.path}: no {self.brief.name}; this is not a run folder that can be continued")
        return read_brief(self.brief)

    def write_brief(self, brief: Brief, writer: WriterRecord | None = None) -> None:
        """brief.md, with the copywriter's comments (which concepts the model wrote, which the rules) when given."""
        if writer is None:
            write_brief(brief, self.brief)
        else:
            save_brief(brief, writer, self.brief)

    def copy_brief(self, source: Path) -> None:
        """A hand-edited brief given to `run --brief`, kept as it was written."""
        write_atomic(self.brief, Path(source).read_text(encoding="utf-8"))

    def run_id(self) -> str:
        """The runlog's run id (it survives renaming the folder), else the folder's name."""
        try:
            return read_runlog(self.runlog).run_id
        except (OSError, ValueError):
            return self.path.name


@dataclass(frozen=True)
class BatchFolder:
    """One catalog run: its state (which products are done), its gallery and its bulk-upload CSV."""

    path: Path

    @property
    def state(self) -> Path:
        return self.path / "batch.json"

    @property
    def gallery(self) -> Path:
        return self.path / "index.html"

    @property
    def upload_csv(self) -> Path:
        return self.path / "upload.csv"
