"""What each entry point loads: heavy libraries wait for the command or stage that uses them.

Checked in a fresh interpreter (the test process has imported everything already). Only which
modules are loaded is asserted, never how long it took: speed is measured by the benchmarks.
"""

from __future__ import annotations

import json
import subprocess
import sys


def _loaded_after(code: str, names: list[str]) -> list[str]:
    """The modules of `names` that are in sys.modules after a fresh interpreter runs `code`."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([n for n in {names!r} if n in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_command_line_loads_no_engine_before_a_command_runs():
    # Settings (pydantic, YAML), images, fonts, page parsing, HTTP and progress display all wait
    # for the command that needs them: `creative --help` pays for none of it.
    heavy = ["pydantic", "yaml", "PIL", "fontTools", "babel", "lxml", "extruct", "justext", "price_parser",
             "confusable_homoglyphs", "httpx", "websockets", "asyncio", "numpy", "cv2", "rich",
             "creative.core.config"]
    assert _loaded_after("import creative.cli", heavy) == []


def test_the_brief_command_loads_each_engine_with_its_stage():
    # Generation clients and the composer load with the stages that use them; an HTTP client and
    # urllib's request machinery only when a page or robots.txt is downloaded; page extraction,
    # drafting and copy fitting with their stages; look-alike tables on the first non-ASCII letter.
    later = ["httpx", "websockets", "asyncio", "creative.gen.client", "creative.render.compose", "numpy", "cv2",
             "urllib.request", "confusable_homoglyphs.confusables", "lxml", "creative.research.extract",
             "creative.copy.drafting", "creative.copy.preflight", "fontTools", "babel"]
    assert _loaded_after("import creative.commands.brief", later) == []


def test_a_run_loads_each_stage_engine_with_its_stage():
    # Page extraction, drafting, copy fitting, saliency (OpenCV) and the report's drawing wait for their stages.
    later = ["lxml", "extruct", "justext", "price_parser", "creative.research.extract", "creative.copy.drafting",
             "babel", "creative.copy.preflight", "creative.render.saliency", "numpy", "cv2", "creative.render.report",
             "confusable_homoglyphs.confusables"]
    assert _loaded_after("import creative.commands.run", later) == []


def test_planning_a_run_loads_no_page_extraction():
    # Pricing a run, a dry run and a run from a given brief never read a page.
    extraction = ["lxml", "extruct", "justext", "price_parser", "creative.research.extract",
                  "creative.copy.preflight", "creative.render.typography"]
    assert _loaded_after("import creative.run.plan", extraction) == []


def test_progress_on_a_pipe_loads_no_rich():
    # The probe's stderr is a pipe: plain lines, and rich is never imported.
    assert _loaded_after("from creative.cli import make_reporter\nmake_reporter(False).stage('brief')", ["rich"]) == []


def test_the_progress_display_loads_live_bars_only_for_a_terminal():
    assert _loaded_after("import creative.console", ["rich.progress", "rich.live"]) == []


def test_look_alike_tables_load_only_for_characters_outside_the_latin_script():
    latin = "from creative.copy.policy import visible_form\nassert visible_form('Crème brûlée für Łódź') == 'crème brûlée für łódź'"
    assert _loaded_after(latin, ["confusable_homoglyphs.confusables"]) == []
    cyrillic = "from creative.copy.policy import visible_form\nassert visible_form('\u0421r\u0435me') == 'creme'"
    assert _loaded_after(cyrillic, ["confusable_homoglyphs.confusables"]) == ["confusable_homoglyphs.confusables"]
