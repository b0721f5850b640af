"""`creative batch` through the CLI in-process, against the mock ComfyUI."""

from __future__ import annotations

import csv
import json
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creative.cli import app
from creative.run.batch import product_seed

FEEDS = Path(__file__).resolve().parents[1] / "examples" / "feeds"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for var in ("CREATIVE_COST_PER_IMAGE_USD", "CREATIVE_COMFY_URLS", "CREATIVE_RUNS_DIR", "CREATIVE_BUDGET_CAP_USD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def batch(*args: str):
    return CliRunner().invoke(app, ["batch", *args, "--runs-dir", "runs", "-q"])


def test_batch_makes_each_product_its_own_run_with_gallery_and_csv(workdir, mock_comfy):
    server = mock_comfy()
    result = batch("--feed", str(FEEDS / "merchant_center.xml"), "--channel", "meta_static", "--variants", "2",
                   "--comfy-url", server.url)
    assert result.exit_code == 0, (result.output, result.exception)
    folder = Path(result.stdout.strip().splitlines()[-1])
    state = json.loads((folder / "batch.json").read_text())
    assert [(p["id"], p["status"]) for p in state["products"]] == [("LS-SERUM-30", "ok"), ("LS-CREAM-50", "ok")]
    assert {s["id"] for s in state["skipped"]} == {"LS-MIST-100", "LS-GIFT", "LS-NOLINK"}
    runs = [Path(p["run_dir"]) for p in state["products"]]
    assert len(set(runs)) == 2
    research = json.loads((runs[0] / "research.json").read_text())
    assert research["backend"] == "feed" and research["price"] == "29.00"  # from the feed, no page fetched
    with (folder / "upload.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["file", "product_id", "headline", "cta", "link", "channel"]
    assert {r["product_id"] for r in rows} == {"LS-SERUM-30", "LS-CREAM-50"}
    assert all(Path(r["file"]).is_file() and r["headline"] and r["cta"] and r["channel"] == "meta_static"
               for r in rows)
    ads = sum(len(list((run / "ads").iterdir())) for run in runs)
    assert len(rows) == ads and ads > 0
    gallery = (folder / "index.html").read_text()
    assert gallery.count("<img ") == ads and "LS-MIST-100" in gallery and "out of stock" in gallery
    assert len(server.received_prompts) == 4
    # Each product has seeds of its own (products of one scene family would otherwise share backgrounds).
    seeds = [[v["seed"] for v in json.loads((run / "prompts.json").read_text())["variants"]] for run in runs]
    assert seeds == [[product_seed(p["id"]), product_seed(p["id"]) + 1] for p in state["products"]]
    assert seeds[0] != seeds[1]


def test_batch_stops_at_the_cap_keeping_what_is_done(workdir, mock_comfy, monkeypatch):
    monkeypatch.setenv("CREATIVE_COST_PER_IMAGE_USD", "0.04")
    monkeypatch.setenv("CREATIVE_BUDGET_CAP_USD", "0.10")  # room for one product of two images, not two
    server = mock_comfy()
    feed = workdir / "three.csv"
    lines = ["id,title,description,availability,price,link"] + [
        f"P{n},Product {n},A fine product number {n}.,in stock,10.00 EUR,https://shop.example/p{n}" for n in (1, 2, 3)]
    feed.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["batch", "--feed", str(feed), "--channel", "meta_static", "--variants", "2",
                                      "--comfy-url", server.url, "--runs-dir", "runs", "-q"])
    assert result.exit_code == 3, (result.output, result.exception)
    folder = Path(result.stdout.strip().splitlines()[-1])
    state = json.loads((folder / "batch.json").read_text())
    statuses = {p["id"]: p["status"] for p in state["products"]}
    assert list(statuses.values()).count("ok") == 1
    assert "not started:" in result.output and all(pid in result.output.split("not started:")[1]
                                                   for pid, s in statuses.items() if s != "ok")
    settled = [json.loads(l) for l in (workdir / "runs" / "budget.jsonl").read_text().splitlines()]
    assert sum(e["amount_usd"] for e in settled if e["event"] == "settle") == pytest.approx(0.08)


def test_resume_runs_only_what_is_left(workdir, mock_comfy):
    server = mock_comfy()
    first = batch("--feed", str(FEEDS / "meta_catalog.csv"), "--channel", "meta_static", "--variants", "2",
                  "--comfy-url", server.url, "--only", "LS-SERUM-30")
    assert first.exit_code == 0, (first.output, first.exception)
    folder = Path(first.stdout.strip().splitlines()[-1])
    state = json.loads((folder / "batch.json").read_text())
    # As a killed batch leaves it: one product never started.
    state["products"].append({**state["products"][0], "id": "LS-CREAM-50", "status": "pending", "run_dir": None,
                              "run_id": None, "item": {**state["products"][0]["item"], "id": "LS-CREAM-50",
                                                       "title": "Barrier Repair Night Cream 50 ml"}})
    (folder / "batch.json").write_text(json.dumps(state))
    done_before = state["products"][0]["run_dir"]
    again = CliRunner().invoke(app, ["batch", "resume", str(folder), "--comfy-url", server.url, "-q"])
    assert again.exit_code == 0, (again.output, again.exception)
    state = json.loads((folder / "batch.json").read_text())
    assert [p["status"] for p in state["products"]] == ["ok", "ok"]
    assert state["products"][0]["run_dir"] == done_before  # kept, not run again
    assert len([p for p in (workdir / "runs").iterdir() if not p.name.startswith(".") and p.is_dir()]) == 2
    with (folder / "upload.csv").open() as handle:
        assert {r["product_id"] for r in csv.DictReader(handle)} == {"LS-SERUM-30", "LS-CREAM-50"}


def test_bad_feed_and_unknown_only_are_clear(workdir):
    broken = workdir / "broken.xml"
    broken.write_text("<rss>\n<channel>\n<item><title>x</title>\n</channel></rss>")
    result = batch("--feed", str(broken), "--channel", "meta_static")
    assert result.exit_code == 2 and "broken.xml: line 4" in result.stderr
    unknown = batch("--feed", str(FEEDS / "meta_catalog.csv"), "--channel", "meta_static", "--only", "NOPE")
    assert unknown.exit_code == 2 and "no product with id NOPE" in unknown.stderr


def test_progress_counts_the_products_done(workdir, mock_comfy):
    server = mock_comfy()
    result = CliRunner().invoke(app, ["batch", "--feed", str(FEEDS / "meta_catalog.csv"), "--channel", "meta_static",
                                      "--variants", "1", "--comfy-url", server.url, "--runs-dir", "runs"])
    assert result.exit_code == 0, (result.output, result.exception)
    lines = [line.strip() for line in result.output.splitlines() if line.strip().startswith("[")]
    assert [line.split("]")[0] + "]" for line in lines] == ["[1/2]", "[2/2]"], result.output
    assert all(line.endswith(": ok") for line in lines)


def test_the_next_product_starts_once_one_has_its_images_not_once_it_is_drawn(workdir, mock_comfy, monkeypatch):
    from creative.run import batch as batch_run
    from creative.stages import compose

    server = mock_comfy()
    # One product at a time before the end of its generation, two started at most.
    monkeypatch.setattr(batch_run, "GPU_AHEAD", 1)
    monkeypatch.setattr(batch_run, "IN_FLIGHT", 2)
    seen_while_drawing: list[int] = []
    first = threading.Lock()

    def held_compose(ctx):
        if first.acquire(blocking=False):  # the first product to draw waits for the next one's prompt
            deadline = time.monotonic() + 60  # a bound against a hang, not a speed
            while len(server.received_prompts) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            seen_while_drawing.append(len(server.received_prompts))
        compose.run(ctx)

    monkeypatch.setattr(batch_run, "FULL_RUN", tuple(held_compose if s is compose.run else s for s in batch_run.FULL_RUN))
    result = batch("--feed", str(FEEDS / "meta_catalog.csv"), "--channel", "meta_static", "--variants", "1",
                   "--comfy-url", server.url)
    assert result.exit_code == 0, (result.output, result.exception)
    assert seen_while_drawing == [2]  # the second product's prompt went out while the first was still drawing


def test_products_waiting_for_their_ads_do_not_keep_the_next_ones_from_the_servers(workdir, mock_comfy,
                                                                                   monkeypatch):
    """Where ads are drawn more slowly than images are made (GPUs sharing the machine's cores), the
    products waiting for the composers pile up; eight of them must not stop the ninth's prompts."""
    from creative.run import batch as batch_run
    from creative.stages import compose

    products = 9
    rows = ["id,title,description,availability,price,link"]
    rows += [f"P{n},Product {n},A calm everyday product number {n}.,in stock,{10 + n}.00 EUR,https://shop.example/p{n}"
             for n in range(1, products + 1)]
    (workdir / "feed.csv").write_text("\n".join(rows) + "\n")
    server = mock_comfy()
    seen_while_drawing: list[int] = []

    def held_compose(ctx):  # no product gets past its ads before every product's prompt is out
        deadline = time.monotonic() + 30  # a bound against a hang, not a speed
        while len(server.received_prompts) < products and time.monotonic() < deadline:
            time.sleep(0.01)
        seen_while_drawing.append(len(server.received_prompts))
        compose.run(ctx)

    monkeypatch.setattr(batch_run, "FULL_RUN", tuple(held_compose if s is compose.run else s for s in batch_run.FULL_RUN))
    result = batch("--feed", "feed.csv", "--channel", "meta_static", "--variants", "1", "--comfy-url", server.url)
    assert result.exit_code == 0, (result.output, result.exception)
    assert seen_while_drawing == [products] * products
