"""The run's gallery gains each variant's imported results."""

from __future__ import annotations

import re

from results_helpers import ad_name, cli, make_run, meta_row, write_meta_csv

from creative.core.models import Brief, Concept, PromptSet, VariantPrompt
from creative.render.report import gallery_html
from creative.run.gallery_results import gallery_results
from creative.run.folder import RunFolder

RUN = "20261101-090000-lumen-skin-serum-meta_static"


def test_gallery_results_per_variant_and_in_the_page(tmp_path):
    runs = tmp_path / "runs"
    run_dir = make_run(runs, RUN, ["glow", "ritual"])
    assert gallery_results(run_dir) == {}  # nothing imported: no database is created for it
    assert not (runs / "creative.sqlite").exists()
    export = write_meta_csv(tmp_path / "meta.csv", [meta_row(ad_name(RUN, 1, "glow"), 120.0, 10_000, 300, 6, views=4_000)])
    assert cli("results", "import", export, "--runs-dir", runs).exit_code == 0

    results = gallery_results(run_dir)
    assert set(results) == {1}
    assert results[1]["spend"] == "120.00 USD" and results[1]["impressions"] == "10,000"
    assert results[1]["CTR"].startswith("3.00% [") and results[1]["CPA"].startswith("20.00 USD [")
    assert results[1]["thumb-stop"].startswith("40.00% [")

    runlog = RunFolder(run_dir).read_runlog()
    concepts = [Concept(name=c, headline=f"{c} headline", cta="Shop", scene="studio") for c in ("glow", "ritual")]
    prompts = PromptSet(variants=[VariantPrompt(variant=v.variant, concept=v.concept, positive="p", negative="n", seed=v.seed)
                                  for v in runlog.variants])
    page = gallery_html(run_id=RUN, brief=Brief(brand="Lumen", channel="meta_static", concepts=concepts), prompts=prompts,
                        ads=[a for v in runlog.variants for a in v.ads], totals={}, results=results)
    v1, v2 = page.split('id="v01"')[1].split('id="v02"')
    assert "<h3>Results</h3>" in v1 and "3.00% [" in v1 and "Results" not in v2


def test_import_rewrites_the_gallery_of_a_real_run(tmp_path, mock_comfy):
    from cli_helpers import EXAMPLE_PAGE

    from creative.commands.run import run as run_pipeline
    from creative.core.config import Settings
    from creative.core.progress import Reporter
    from creative.run.context import RunRequest as RunOptions

    server = mock_comfy()
    settings = Settings.model_validate({"comfyui": {"urls": [server.url]}, "paths": {"runs_dir": str(tmp_path / "runs")}})
    result = run_pipeline(RunOptions(channel="meta_static", url=str(EXAMPLE_PAGE), variants=2), settings, Reporter())
    assert result.exit_code == 0, result.message
    run_dir = result.run_dir
    before = (run_dir / "index.html").read_text(encoding="utf-8")
    ad = RunFolder(run_dir).read_runlog().variants[1].ads[0]
    export = write_meta_csv(tmp_path / "meta.csv", [meta_row(ad.path.rsplit("/", 1)[-1], 55.5, 5_000, 75, 3)])
    out = cli("results", "import", export, "--runs-dir", tmp_path / "runs")
    assert out.exit_code == 0 and f"galleries updated: {run_dir.name}/index.html" in out.stdout
    after = (run_dir / "index.html").read_text(encoding="utf-8")
    v1, v2 = after.split('id="v01"')[1].split('id="v02"')
    assert "<h3>Results</h3>" not in v1 and "<h3>Results</h3>" in v2 and "1.50% [" in v2 and "55.50 USD" in v2
    # everything else on the page is as the pipeline wrote it (the run's seconds are now its final total)
    seconds = re.compile(r"<b>[\d.,]+ s</b><span>seconds</span>")
    assert seconds.search(after) and seconds.sub("", after.replace(v2, "")) == seconds.sub(
        "", before.replace(before.split('id="v02"')[1], ""))
    table = v2[v2.index("<h3>Results</h3>"):v2.index("</table>", v2.index("<h3>Results</h3>")) + len("</table>")]
    assert v2.replace(table, "") == before.split('id="v02"')[1]
