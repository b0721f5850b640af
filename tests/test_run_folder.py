"""The run folder layout: names, creation, readers that say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from creative.core.errors import InputError
from creative.core.models import PromptSet, VariantPrompt
from creative.run.folder import RunFolder, RunsRoot
from creative.run.runlog import RunLog


def test_background_names_keep_two_digits_then_grow():
    folder = RunFolder(Path("/r"))
    assert [folder.background(v).name for v in (1, 9, 12, 100)] == ["v01.png", "v09.png", "v12.png", "v100.png"]
    assert folder.relative(folder.background(3)) == "backgrounds/v03.png"


def test_runs_root_places_ledger_cache_and_database_beside_the_runs(tmp_path):
    root = RunsRoot(tmp_path)
    assert {root.ledger.parent, root.cache.parent, root.database.parent} == {tmp_path}
    first = root.create_run("20260101-000000-serum-lumen-skin-meta-static")
    second = root.create_run("20260101-000000-serum-lumen-skin-meta-static")
    assert first.path.name == "20260101-000000-serum-lumen-skin-meta-static"
    assert second.path.name == first.path.name + "-2"
    root.cache.mkdir()
    assert [f.path for f in root.runs()] == [first.path, second.path]  # the hidden cache is not a run


def test_readers_name_the_file_and_the_problem(tmp_path):
    folder = RunFolder(tmp_path)
    with pytest.raises(InputError, match="no runlog.json"):
        folder.read_runlog()
    folder.runlog.write_text("{not json")
    with pytest.raises(InputError, match="runlog.json: cannot be read"):
        folder.read_runlog()
    folder.write_runlog(RunLog(run_id="R7"))
    assert folder.read_runlog().run_id == "R7" and folder.run_id() == "R7"
    folder.prompts.write_text('{"variants": 3}')
    with pytest.raises(InputError, match="prompts.json: not a valid prompts file"):
        folder.read_prompts()
    prompts = PromptSet(variants=[VariantPrompt(variant=1, concept="c", positive="p", negative="n", seed=1)])
    folder.write_prompts(prompts)
    assert folder.read_prompts() == prompts
