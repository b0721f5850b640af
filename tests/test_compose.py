"""compose_run end to end on real backgrounds and the sample brand; QC per ad; recompose."""

from __future__ import annotations

import hashlib
import shutil
import unicodedata
from pathlib import Path

import pytest
import yaml
from PIL import Image, ImageDraw

from creative.render import compose
from creative.brand.kit import load_brand, load_channels, load_layout
from creative.copy.brief import read_brief, write_brief
from creative.commands.compose import recompose
from creative.core.config import Settings
from creative.core.progress import Reporter
from creative.render.compose import (
    compose_run,
    expected_copy,
    qc_ad,
    text_share,
)
from creative.run.folder import RunFolder
from creative.run.runlog import RunLog, VariantRecord
from creative.core.errors import InputError, LayoutError
from creative.core.models import (
    AdRecord,
    AdSize,
    BoxCheck,
    Brief,
    Concept,
    PromptSet,
    SafeZone,
    VariantPrompt,
)
from creative.render.typography import render_ad

ROOT = Path(__file__).resolve().parents[1]
BRAND = ROOT / "brand"
CHANNELS = load_channels(ROOT / "templates" / "channels.yaml")


def _brief(headline2: str = "Calm skin, every morning") -> Brief:
    return Brief(
        brand="Lumen Skin",
        channel="meta_static",
        concepts=[
            Concept(name="Dewy Morning", headline="Wake up to skin that glows", subhead="Vitamin C serum",
                    cta="Shop now", scene="s"),
            Concept(name="Sữa rửa mặt", headline=headline2, subhead="Sữa rửa mặt dịu nhẹ", cta="Mua ngay",
                    scene="s"),
        ],
    )


def _prompts() -> PromptSet:
    return PromptSet(variants=[
        VariantPrompt(variant=1, concept="Dewy Morning", positive="p", negative="n", seed=11),
        VariantPrompt(variant=2, concept="Sữa rửa mặt", positive="p", negative="n", seed=22),
        VariantPrompt(variant=3, concept="Dewy Morning", positive="p", negative="n", seed=33),
    ])


def _backgrounds(run_dir: Path, variants: list[int]) -> None:
    (run_dir / "backgrounds").mkdir(parents=True)
    for v in variants:
        im = Image.new("RGB", (512, 512), (230 - 60 * v, 200, 190))
        ImageDraw.Draw(im).ellipse((100, 200, 400, 500), fill=(40 * v, 60, 90))
        im.save(run_dir / "backgrounds" / f"v{v:02d}.png")


def test_compose_writes_every_size_and_skips_missing_background(tmp_path):
    _backgrounds(tmp_path, [1, 2])  # variant 3 failed to generate
    records = compose_run(RunFolder(tmp_path), "RUN", _brief(), _prompts(), CHANNELS["meta_static"], BRAND)
    assert [(r.variant, r.width, r.height) for r in records] == [(1, 1080, 1350), (1, 1080, 1080),
                                                                 (2, 1080, 1350), (2, 1080, 1080)]
    assert records[2].path == "ads/RUN_v02_sua-rua-mat_1080x1350.jpg"
    for r in records:
        data = (tmp_path / r.path).read_bytes()
        assert r.bytes == len(data) and r.sha256 == hashlib.sha256(data).hexdigest()
        with Image.open(tmp_path / r.path) as im:
            assert im.size == (r.width, r.height) and im.format == "JPEG"
        assert [b.box for b in r.boxes] == ["logo", "headline", "subhead", "cta"]
        assert all(b.inside_safe_zone for b in r.boxes)
        assert all(b.contrast >= 4.5 for b in r.boxes if b.box in ("headline", "subhead"))
    assert records[2].boxes[2].text == "Sữa rửa mặt dịu nhẹ" and records[0].seed == 11


def test_compose_variant_filter(tmp_path):
    _backgrounds(tmp_path, [1, 2])
    records = compose_run(RunFolder(tmp_path), "RUN", _brief(), _prompts(), CHANNELS["meta_story"], BRAND, variants=[2])
    assert [(r.variant, r.width) for r in records] == [(2, 1080)]


def test_layout_error_names_variant_and_writes_nothing(tmp_path):
    _backgrounds(tmp_path, [1, 2])
    long = "This headline is far too long to ever fit " * 4
    with pytest.raises(LayoutError) as err:
        compose_run(RunFolder(tmp_path), "RUN", _brief(long), _prompts(), CHANNELS["meta_static"], BRAND)
    assert err.value.message.startswith("variant 2 ('Sữa rửa mặt') at 1080x1350: headline: text '")
    assert not (tmp_path / "ads").exists() or not any((tmp_path / "ads").iterdir())


def test_text_share_counts_overlap_once():
    boxes = [BoxCheck(box="headline", bounds=(0, 0, 50, 20)), BoxCheck(box="cta", bounds=(25, 10, 75, 30)),
             BoxCheck(box="logo", bounds=(0, 0, 100, 100))]
    assert text_share(boxes, 100, 100) == pytest.approx((1000 + 1000 - 250) / 10000)


def test_fit_failure_names_every_failing_variant_and_keeps_earlier_ads(tmp_path):
    _backgrounds(tmp_path, [1, 2])
    compose_run(RunFolder(tmp_path), "OLD", _brief(), _prompts(), CHANNELS["meta_story"], BRAND, variants=[1])
    before = {p.name: p.read_bytes() for p in (tmp_path / "ads").iterdir()}
    long = "This headline is far too long to ever fit " * 4
    brief = _brief(long).model_copy(update={"concepts": [_brief().concepts[0].model_copy(update={"headline": long}),
                                                          _brief(long).concepts[1]]})
    with pytest.raises(LayoutError) as err:
        compose_run(RunFolder(tmp_path), "RUN", brief, _prompts(), CHANNELS["meta_static"], BRAND)
    msg = err.value.message
    assert msg.startswith("variant 1 ('Dewy Morning') at 1080x1350: headline: text 'This headline is far too long")
    assert "| variant 2 ('Sữa rửa mặt') at 1080x1350: headline: text 'This headline" in msg
    assert {p.name: p.read_bytes() for p in (tmp_path / "ads").iterdir()} == before  # nothing new, nothing touched


# --- QC per ad ----------------------------------------------------------------------

S4x5 = AdSize(width=1080, height=1350, layout="4x5")
ZONE = SafeZone()
EN = Concept(name="Dewy", headline="Wake up to skin that glows", subhead="Vitamin C serum", cta="Shop now", scene="s")


@pytest.fixture(scope="module")
def rendered():
    brand = load_brand(BRAND)
    ad = render_ad(Image.new("RGB", (800, 1000), (240, 235, 225)), EN, brand, BRAND, load_layout(BRAND, "4x5", brand),
                   S4x5, ZONE)
    return ad, expected_copy(EN, brand)


def _doctor(boxes: list[BoxCheck], name: str, **update) -> list[BoxCheck]:
    return [b.model_copy(update=update) if b.box == name else b for b in boxes]


def test_qc_passes_a_real_render(rendered):
    ad, copy = rendered
    qc = qc_ad(ad.image.size, ad.boxes, S4x5, ZONE, copy)
    assert qc.ok and qc.errors == [] and qc.warnings == []
    assert qc.size_ok and qc.size == "1080x1350" and qc.aspect == "4:5"
    assert qc.safe_zone_ok and qc.copy_ok and qc.text_share_ok
    assert [(c.box, c.ok) for c in qc.contrast] == [("headline", True), ("subhead", True), ("cta", True)]
    assert 0.05 < qc.text_share < 0.20


def test_qc_size_must_be_exact(rendered):
    ad, copy = rendered
    qc = qc_ad((1080, 1349), ad.boxes, S4x5, ZONE, copy)
    assert not qc.size_ok and not qc.ok
    assert qc.errors == ["rendered 1080x1349 (1080:1349), expected 1080x1350 (4:5)"]


def test_qc_layout_aspect_mismatch_warns(rendered):
    ad, copy = rendered
    square = AdSize(width=1080, height=1350, layout="1x1")  # a 4:5 canvas drawn with the square layout
    qc = qc_ad(ad.image.size, ad.boxes, square, ZONE, copy)
    assert qc.ok and qc.warnings == ["layout 1x1 is drawn at 1080x1350 (4:5)"]


def test_qc_box_outside_safe_zone_is_an_error(rendered):
    ad, copy = rendered
    boxes = _doctor(ad.boxes, "cta", bounds=(65, 1200, 400, 1300))  # the 5% zone ends at y 1282
    qc = qc_ad(ad.image.size, boxes, S4x5, ZONE, copy)
    assert not qc.safe_zone_ok and qc.outside_safe_zone == ["cta"]
    assert qc.errors == ["cta: drawn at (65, 1200, 400, 1300), outside the safe zone (54, 68, 1026, 1282) at 1080x1350"]


@pytest.mark.parametrize("font_size,value,required,ok", [(60, 2.99, 3.0, False), (60, 3.0, 3.0, True),
                                                         (20, 4.49, 4.5, False), (20, 4.5, 4.5, True)])
def test_qc_contrast_against_wcag_threshold_for_the_size(rendered, font_size, value, required, ok):
    ad, copy = rendered
    boxes = _doctor(ad.boxes, "subhead", contrast=value, font_size=font_size)
    qc = qc_ad(ad.image.size, boxes, S4x5, ZONE, copy)
    check = next(c for c in qc.contrast if c.box == "subhead")
    assert (check.value, check.required, check.ok) == (value, required, ok)
    assert qc.ok  # low contrast is reported, never blocks
    warning = f"subhead: contrast {value}:1 is below WCAG AA {required}:1 at {font_size} px; use a scrim or another text colour"
    assert qc.warnings == ([] if ok else [warning])


def test_qc_text_over_20_percent_warns_but_does_not_block(rendered):
    ad, copy = rendered
    boxes = _doctor(ad.boxes, "headline", bounds=(54, 68, 1026, 400))  # 972 x 332 = 23.7% of the canvas
    qc = qc_ad(ad.image.size, boxes, S4x5, ZONE, copy)
    assert qc.ok and not qc.text_share_ok and qc.text_share > 0.2
    assert qc.warnings == [f"text covers {qc.text_share:.0%} of the image (over 20%); shorten the copy"]


def test_qc_drawn_copy_must_equal_brief_copy(rendered):
    ad, copy = rendered
    head = next(b for b in ad.boxes if b.box == "headline")
    # same copy after NFC/whitespace normalisation: wrapped lines, NFD, extra spaces are fine
    same = _doctor(ad.boxes, "headline", drawn=unicodedata.normalize("NFD", head.drawn.replace("\n", "  \n ")))
    assert qc_ad(ad.image.size, same, S4x5, ZONE, copy).copy_ok
    lost = _doctor(ad.boxes, "headline", drawn=head.drawn[:-1])
    qc = qc_ad(ad.image.size, lost, S4x5, ZONE, copy)
    assert not qc.copy_ok and qc.copy_mismatches == ["headline"]
    assert qc.errors == ["headline: drew 'Wake up to skin that glow' but the brief says 'Wake up to skin that glows'"]
    missing = [b for b in ad.boxes if b.box != "subhead"]
    assert qc_ad(ad.image.size, missing, S4x5, ZONE, copy).errors == ["subhead: brief copy 'Vitamin C serum' was not drawn"]
    unrecorded = _doctor(ad.boxes, "cta", drawn=None)
    assert qc_ad(ad.image.size, unrecorded, S4x5, ZONE, copy).copy_mismatches == ["cta"]


def test_compose_records_qc_and_reports_warnings(tmp_path, caplog):
    caplog.set_level("INFO", logger="creative.render.compose")  # the stage shows it to the user; the log keeps it
    brand_dir = tmp_path / "brand"
    shutil.copytree(BRAND, brand_dir)
    yaml = brand_dir / "brand.yaml"
    yaml.write_text(yaml.read_text().replace("text_color: ink ", "text_color: cream "))  # cream on coral: ~2.7:1
    run = tmp_path / "run"
    _backgrounds(run, [1])
    [record] = compose_run(RunFolder(run), "RUN", _brief(), _prompts(), CHANNELS["meta_story"], brand_dir)
    cta = next(c for c in record.qc.contrast if c.box == "cta")
    assert not cta.ok and cta.value < 3.0 and record.qc.ok
    size = record.boxes[-1].font_size
    assert record.warnings == [f"cta: contrast {cta.value}:1 is below WCAG AA 3.0:1 at {size} px; change the brand's cta colours"]
    assert f"{record.path}: {record.warnings[0]}" in caplog.text
    assert (run / record.path).is_file()  # a warning does not block
    assert AdRecord.model_validate_json(record.model_dump_json()) == record  # survives the runlog


def test_qc_error_blocks_every_write(tmp_path, monkeypatch):
    def garbled(*args, **kwargs):
        ad = render_ad(*args, **kwargs)
        ad.boxes = _doctor(ad.boxes, "headline", drawn="Wake up to skin that")  # the engine lost a word
        return ad

    _backgrounds(tmp_path, [1])
    monkeypatch.setattr(compose, "render_ad", garbled)
    with pytest.raises(LayoutError) as err:
        compose_run(RunFolder(tmp_path), "RUN", _brief(), _prompts(), CHANNELS["meta_story"], BRAND)
    assert err.value.message == ("variant 1 ('Dewy Morning') at 1080x1920: QC failed: headline: drew 'Wake up to "
                                 "skin that' but the brief says 'Wake up to skin that glows'")
    assert not (tmp_path / "ads").exists()


# --- safe zones, determinism ------------------------------------------------------------


def test_channel_safe_zone_is_checked_on_compose(tmp_path):
    _backgrounds(tmp_path, [1])
    strict = CHANNELS["meta_static"].model_copy(update={"safe_zone": SafeZone(top=0.1)})
    with pytest.raises(LayoutError) as err:
        compose_run(RunFolder(tmp_path), "RUN", _brief(), _prompts(), strict, BRAND)
    assert err.value.message.startswith(
        f"variant 1 ('Dewy Morning') at 1080x1350: {BRAND}/layouts/4x5.yaml: logo box (x 0.06-0.16, y 0.05-0.13) "
        "is outside the safe zone at 1080x1350 (top 10%, bottom 5%, left 5%, right 5%)")
    assert not (tmp_path / "ads").exists()


def test_edited_layout_leaving_the_zone_names_the_file(tmp_path):
    brand_dir = tmp_path / "brand"
    shutil.copytree(BRAND, brand_dir)
    layout = brand_dir / "layouts" / "1x1.yaml"
    # push the CTA box's bottom onto the canvas edge: inside the canvas, outside the 5% zone
    data = yaml.safe_load(layout.read_text())
    data["cta"]["y"] = round(1 - data["cta"]["h"], 4)
    layout.write_text(yaml.safe_dump(data))
    run = tmp_path / "run"
    _backgrounds(run, [1])
    with pytest.raises(LayoutError) as err:
        compose_run(RunFolder(run), "RUN", _brief(), _prompts(), CHANNELS["meta_static"], brand_dir)
    assert f"at 1080x1080: {layout}: cta box (" in err.value.message
    assert "outside the safe zone at 1080x1080 (top 5%, bottom 5%, left 5%, right 5%)" in err.value.message
    assert not (run / "ads").exists()


def test_compose_twice_gives_byte_identical_files(tmp_path):
    channel = CHANNELS["meta_static"].model_copy(update={"sizes": [
        AdSize(width=1080, height=1350, layout="4x5", format="jpg"),
        AdSize(width=1080, height=1080, layout="1x1", format="png"),
    ]})
    outputs = []
    for name in ("a", "b"):
        _backgrounds(tmp_path / name, [1])
        records = compose_run(RunFolder(tmp_path / name), "RUN", _brief(), _prompts(), channel, BRAND)
        outputs.append((records, {p.name: p.read_bytes() for p in (tmp_path / name / "ads").iterdir()}))
    (ra, fa), (rb, fb) = outputs
    assert sorted(fa) == ["RUN_v01_dewy-morning_1080x1080.png", "RUN_v01_dewy-morning_1080x1350.jpg"]
    assert fa == fb and ra == rb


@pytest.mark.parametrize("cores", [1, 2, 8])
def test_one_core_or_many_give_the_same_ads(tmp_path, monkeypatch, cores):
    # one core runs every task in the calling thread; more run them in threads, in any order
    outputs = []
    for name, n in (("reference", 2), ("run", cores)):
        _backgrounds(tmp_path / name, [1, 2, 3])
        monkeypatch.setattr(os, "cpu_count", lambda n=n: n)
        records = compose_run(RunFolder(tmp_path / name), "RUN", _brief(), _prompts(), CHANNELS["meta_static"], BRAND)
        outputs.append((records, {p.name: p.read_bytes() for p in (tmp_path / name / "ads").iterdir()}))
    (ra, fa), (rb, fb) = outputs
    assert len(fa) == 6 and fa == fb and ra == rb


@pytest.mark.parametrize("cores", [1, 2])
def test_unreadable_background_is_raised_and_nothing_is_written(tmp_path, monkeypatch, cores):
    _backgrounds(tmp_path, [1, 3])
    (tmp_path / "backgrounds" / "v02.png").write_bytes(b"not a png")
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    with pytest.raises(LayoutError) as err:
        compose_run(RunFolder(tmp_path), "RUN", _brief(), _prompts(), CHANNELS["meta_static"], BRAND)
    assert err.value.message.startswith(f"variant 2: background {tmp_path / 'backgrounds' / 'v02.png'} is not a")
    assert not (tmp_path / "ads").exists()


# --- recompose --------------------------------------------------------------------------


def _run_folder(root: Path, run_id: str = "20250101-000000-lumen-meta_story") -> Path:
    run = root / "20250101-000000-lumen-meta_story"
    _backgrounds(run, [1])  # variant 2 failed to generate
    write_brief(_brief().model_copy(update={"channel": "meta_story"}), run / "brief.md")
    names = [c.name for c in read_brief(run / "brief.md").concepts]  # parsing turns names into slugs
    prompts = PromptSet(variants=[VariantPrompt(variant=i, concept=n, positive="p", negative="n", seed=i)
                                  for i, n in enumerate(names, 1)])
    (run / "prompts.json").write_text(prompts.model_dump_json())
    variants = [VariantRecord(variant=p.variant, concept=p.concept, positive="p", negative="n", seed=p.seed,
                              width=768, height=1344, status="ok" if p.variant == 1 else "failed")
                for p in prompts.variants]
    (run / "runlog.json").write_text(RunLog(run_id=run_id, status="partial", variants=variants).model_dump_json())
    return run


def _recompose(run: Path) -> list[AdRecord]:
    settings = Settings.model_validate({"paths": {"runs_dir": str(run.parent), "brand_dir": str(BRAND),
                                                  "templates_dir": str(ROOT / "templates")}})
    result = recompose(run, settings, Reporter())
    return [ad for v in result.runlog.variants for ad in v.ads]


def test_recompose_after_brief_edit_replaces_ads_and_removes_stale_ones(tmp_path):
    run = _run_folder(tmp_path)
    [old] = _recompose(run)
    assert old.path == "ads/20250101-000000-lumen-meta_story_v01_dewy-morning_1080x1920.jpg"
    stale = run / "ads" / "20250101-000000-lumen-meta_story_v03_dewy-morning_1080x1920.jpg"
    stale.write_bytes(b"old")
    keep = [run / "ads" / "notes.txt", run / "ads" / "20250102-000000-other_v01_x_1080x1920.jpg"]
    for path in keep:
        path.write_bytes(b"not ours")

    brief_md = run / "brief.md"
    brief_md.write_text(brief_md.read_text().replace("Wake up to skin that glows", "Glow from the first morning"))
    [new] = _recompose(run)
    assert new.path == old.path and new.sha256 != old.sha256
    assert new.boxes[1].drawn.replace("\n", " ") == "Glow from the first morning"
    assert hashlib.sha256((run / new.path).read_bytes()).hexdigest() == new.sha256
    assert not stale.exists() and all(p.read_bytes() == b"not ours" for p in keep)
    assert sorted(p.name for p in (run / "ads").iterdir()) == sorted([Path(new.path).name, *(p.name for p in keep)])


def test_recompose_uses_runlog_run_id(tmp_path):
    run = _run_folder(tmp_path, run_id="R42")
    [record] = _recompose(run)
    assert record.path == "ads/R42_v01_dewy-morning_1080x1920.jpg"


def test_recompose_failure_leaves_old_ads_unchanged(tmp_path):
    run = _run_folder(tmp_path)
    _recompose(run)
    before = {p.name: p.read_bytes() for p in (run / "ads").iterdir()}
    brief_md = run / "brief.md"
    brief_md.write_text(brief_md.read_text().replace("Wake up to skin that glows", "Radiance " * 14))
    with pytest.raises(LayoutError) as err:
        _recompose(run)
    assert "headline: text 'Radiance Radiance" in err.value.message
    assert "existing ads were left unchanged" in err.value.hint
    assert {p.name: p.read_bytes() for p in (run / "ads").iterdir()} == before


def test_recompose_refuses_banned_words_and_unknown_channel(tmp_path):
    run = _run_folder(tmp_path)
    brief_md = run / "brief.md"
    text = brief_md.read_text()
    brief_md.write_text(text.replace("Wake up to skin that glows", "A miracle in a bottle"))
    with pytest.raises(InputError, match="contains 'miracle'"):
        _recompose(run)
    brief_md.write_text(text.replace("channel: meta_story", "channel: fax"))
    with pytest.raises(InputError, match="unknown channel 'fax'"):
        _recompose(run)
    assert not (run / "ads").exists()


# --- parallel variants: order, error precedence, all-or-nothing ------------------------------

import os  # noqa: E402
import random  # noqa: E402
import threading  # noqa: E402

from creative.core.errors import ExportError  # noqa: E402


def _finish_in_order(monkeypatch, order: list[int]) -> list[int]:
    """Make compose's variants finish in `order` (each ad waits for every ad of the variant before
    it to finish), whatever the thread scheduling. Returns the list the real finishing order goes into."""
    real = compose._compose_ad
    done = {v: threading.Event() for v in order}
    left: dict[int, int] = {}
    finished: list[int] = []
    lock = threading.Lock()

    def gated(vp, *args, **kwargs):
        out = real(vp, *args, **kwargs)
        i = order.index(vp.variant)
        if i:
            assert done[order[i - 1]].wait(20), f"variant {order[i - 1]} never finished"
        with lock:
            left[vp.variant] = left.get(vp.variant, len(kwargs["channel"].sizes)) - 1
            if not left[vp.variant]:
                finished.append(vp.variant)
                done[vp.variant].set()
        return out

    monkeypatch.setattr(compose, "_compose_ad", gated)
    # a thread for every ad, even on a 1-core runner, so the gating cannot deadlock
    monkeypatch.setattr(os, "cpu_count", lambda: 8 * len(order))
    return finished


def _noisy_background(run_dir: Path, variant: int) -> None:
    """A background no JPEG setting gets under a few hundred KB (about 500 KB at quality 40)."""
    (run_dir / "backgrounds").mkdir(parents=True, exist_ok=True)
    rng = random.Random(variant)
    Image.frombytes("RGB", (512, 512), rng.randbytes(512 * 512 * 3)).save(run_dir / "backgrounds" / f"v{variant:02d}.png")


def _ads_written(run_dir: Path) -> list[str]:
    ads = run_dir / "ads"
    return sorted(p.name for p in ads.iterdir()) if ads.exists() else []


def test_records_keep_variant_then_size_order_when_the_first_variant_finishes_last(tmp_path, monkeypatch):
    _backgrounds(tmp_path, [1, 2, 3])
    finished = _finish_in_order(monkeypatch, [3, 2, 1])
    records = compose_run(RunFolder(tmp_path), "RUN", _brief(), _prompts(), CHANNELS["meta_static"], BRAND)
    assert finished == [3, 2, 1]  # v01 really was the slowest
    assert [(r.variant, r.width, r.height) for r in records] == [
        (1, 1080, 1350), (1, 1080, 1080), (2, 1080, 1350), (2, 1080, 1080), (3, 1080, 1350), (3, 1080, 1080)]
    assert [r.seed for r in records] == [11, 11, 22, 22, 33, 33]
    assert _ads_written(tmp_path) == sorted(Path(r.path).name for r in records)
    for r in records:
        assert hashlib.sha256((tmp_path / r.path).read_bytes()).hexdigest() == r.sha256


SMALL_CAP = CHANNELS["meta_static"].model_copy(update={"max_file_kb": 200})  # a flat ad is ~40 KB


def test_first_export_error_in_variant_order_is_raised_and_nothing_is_written(tmp_path, monkeypatch):
    _backgrounds(tmp_path, [1])  # fits the cap
    for v in (2, 3):
        _noisy_background(tmp_path, v)  # never fits
    finished = _finish_in_order(monkeypatch, [3, 2, 1])  # v03's error is ready first
    with pytest.raises(ExportError) as err:
        compose_run(RunFolder(tmp_path), "RUN", _brief(), _prompts(), SMALL_CAP, BRAND)
    assert finished == [3, 2, 1]
    assert err.value.message.startswith(
        f"{tmp_path / 'ads' / 'RUN_v02_sua-rua-mat_1080x1350.jpg'}: cannot get under 200 KB (")
    assert _ads_written(tmp_path) == []  # not even variant 1, which encoded fine


def test_layout_error_in_a_later_variant_beats_an_export_error_in_an_earlier_one(tmp_path, monkeypatch):
    _backgrounds(tmp_path, [2])  # variant 2's headline cannot fit
    _noisy_background(tmp_path, 1)  # variant 1 renders but cannot be encoded under the cap
    long = "This headline is far too long to ever fit " * 4
    finished = _finish_in_order(monkeypatch, [1, 2])
    with pytest.raises(LayoutError) as err:
        compose_run(RunFolder(tmp_path), "RUN", _brief(long), _prompts(), SMALL_CAP, BRAND)
    assert finished == [1, 2]
    assert err.value.message.startswith("variant 2 ('Sữa rửa mặt') at 1080x1350: headline: text 'This headline")
    assert "cannot get under" not in err.value.message
    assert _ads_written(tmp_path) == []


# --- drawing while the GPU works: AdComposer and the run's pipeline ----------------------------

import time  # noqa: E402

from creative.render.compose import AdComposer  # noqa: E402


def _record_renders(monkeypatch) -> list[tuple[int, float]]:
    """(variant, time) of every ad rendered from now on."""
    real, seen = compose._compose_ad, []

    def recorded(vp, *args, **kwargs):
        out = real(vp, *args, **kwargs)
        seen.append((vp.variant, time.time()))
        return out

    monkeypatch.setattr(compose, "_compose_ad", recorded)
    return seen


def test_composer_draws_a_variant_as_soon_as_it_is_added_and_writes_only_at_finish(tmp_path, monkeypatch):
    _backgrounds(tmp_path, [1, 2])
    seen = _record_renders(monkeypatch)
    with AdComposer(RunFolder(tmp_path), "RUN", _brief(), _prompts(), CHANNELS["meta_static"], BRAND, workers=2) as composer:
        assert composer.add(1) and not composer.add(3)  # variant 3 has no background
        deadline = time.monotonic() + 20
        while len(seen) < 2:
            assert time.monotonic() < deadline, "variant 1 was not drawn before finish()"
            time.sleep(0.01)
        assert _ads_written(tmp_path) == []  # drawn and encoded, nothing on disk yet
        records = composer.finish()
    assert [v for v, _ in seen] == [1, 1, 2, 2]
    fresh = tmp_path / "fresh"
    (fresh / "backgrounds").mkdir(parents=True)
    for v in (1, 2):
        (fresh / "backgrounds" / f"v{v:02d}.png").write_bytes((tmp_path / "backgrounds" / f"v{v:02d}.png").read_bytes())
    expected = compose_run(RunFolder(fresh), "RUN", _brief(), _prompts(), CHANNELS["meta_static"], BRAND)
    assert [r.sha256 for r in records] == [r.sha256 for r in expected]  # same bytes as composing at the end


def test_a_run_draws_its_ads_while_the_next_backgrounds_generate(tmp_path, monkeypatch):
    from cli_helpers import EXAMPLE_PAGE

    from creative.mock.comfy import MockOptions, MockServer
    from creative.core.config import Settings
    from creative.commands.run import run as run_command
    from creative.run.context import RunRequest

    seen = _record_renders(monkeypatch)
    with MockServer(MockOptions(latency=0.4)) as server:  # one server: images come one by one
        settings = Settings.model_validate({
            "comfyui": {"urls": [server.url]},
            "paths": {"runs_dir": str(tmp_path / "runs"), "brand_dir": str(BRAND)},
        })
        result = run_command(RunRequest(channel="meta_static", url=str(EXAMPLE_PAGE), variants=3, no_cache=True),
                             settings, Reporter())
    assert result.exit_code == 0, result.message
    generate = next(s for s in RunFolder(result.run_dir).read_runlog().stages if s.name == "generate")
    drawn_early = {variant for variant, at in seen if at < generate.ended_at}
    assert {1, 2} <= drawn_early  # both ads of the first variants were ready before the last image
    assert len(RunFolder(result.run_dir).read_runlog().variants[0].ads) == 2
