"""Bad input ends with one clear line on stderr and the documented exit code, never a traceback."""

from __future__ import annotations

import shutil

import pytest


from cli_helpers import EXAMPLE_PAGE, REPO, closed_port, run_creative


def assert_one_clear_line(result, code: int, *needles: str) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_unknown_channel(tmp_path):
    result = run_creative("run", "--url", str(EXAMPLE_PAGE), "--channel", "myspace", "--runs-dir", str(tmp_path), cwd=tmp_path)
    assert_one_clear_line(result, 2, "unknown channel 'myspace'", "meta_static")


def test_unreachable_url(tmp_path, mock_comfy):
    url = f"http://127.0.0.1:{closed_port()}/p/serum"
    result = run_creative("run", "--url", url, "--channel", "meta_static", "--comfy-url", mock_comfy().url,
                          "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
    assert_one_clear_line(result, 2, url)


def test_non_html_page(tmp_path, mock_comfy):
    pdf = tmp_path / "spec.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n")
    result = run_creative("run", "--url", str(pdf), "--channel", "meta_static", "--comfy-url", mock_comfy().url,
                          "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
    assert_one_clear_line(result, 2, "spec.pdf")


def test_comfy_unreachable_names_url(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}"
    result = run_creative("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--comfy-url", url,
                          "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
    line = assert_one_clear_line(result, 1, url)
    assert "Already written" in line  # says what is on disk
    # Nothing was spent or even reserved: the servers are checked before the budget stage reserves.
    ledger = tmp_path / "runs" / "budget.jsonl"
    assert not ledger.exists() or "reserve" not in ledger.read_text()


def test_malformed_config(tmp_path):
    (tmp_path / "creative.yaml").write_text("budget:\n  monthly_cap_usd: [1, 2\n")
    result = run_creative("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", cwd=tmp_path)
    assert_one_clear_line(result, 2, "creative.yaml")


def test_workflow_bind_names_missing_node(tmp_path):
    source = REPO / "templates" / "workflows" / "sdxl_txt2img.json"
    shutil.copy(source, tmp_path / "wf.json")
    bind = (source.parent / "sdxl_txt2img.bind.yaml").read_text()
    (tmp_path / "wf.bind.yaml").write_text(bind.replace('"3"', '"99"', 1).replace("'3'", "'99'", 1))
    result = run_creative("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static", "--workflow", str(tmp_path / "wf.json"),
                          "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
    assert_one_clear_line(result, 2, "wf.bind.yaml", "99")


def test_usage_error_exit_2(tmp_path):
    result = run_creative("run", "--variants", "zero", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_runs_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the runs folder should be")
    result = run_creative("run", "--url", str(EXAMPLE_PAGE), "--channel", "meta_static",
                          "--runs-dir", str(blocker / "runs"), cwd=tmp_path)
    assert_one_clear_line(result, 2, "is not writable", str(blocker / "runs"))


def test_full_disk_is_refused_before_anything_is_spent(tmp_path):
    from collections import namedtuple

    from creative.core.errors import InputError
    from creative.run.plan import check_runs_dir_writable

    usage = namedtuple("usage", "total used free")
    with pytest.raises(InputError) as info:
        check_runs_dir_writable(tmp_path, 240 * 2**20, disk_usage=lambda _: usage(10**9, 10**9 - 5 * 2**20, 5 * 2**20))
    assert "5 MB free" in info.value.message and "needs about 240 MB" in info.value.message
    check_runs_dir_writable(tmp_path, 1, disk_usage=lambda _: usage(10**9, 0, 10**9))


def test_copy_with_an_avoided_term_is_refused_before_anything_is_sent(tmp_path, mock_comfy):
    from creative.copy.brief import render_brief
    from creative.core.models import Brief, Concept

    server = mock_comfy()
    scene = "a glass dropper bottle on travertine"
    brief = Brief(brand="Lumen Skin", channel="meta_static", avoid=["cheap"], concepts=[
        Concept(name="offer", headline="Buy 2, get 1 free", cta="Shop now", scene=scene),
        Concept(name="value", headline="Glow for less", subhead="Cheap never looked this good", cta="Shop now", scene=scene),
    ])
    path = tmp_path / "brief.md"
    path.write_text(render_brief(brief))
    result = run_creative("run", "--brief", str(path), "--comfy-url", server.url, "--runs-dir", "runs", cwd=tmp_path)
    assert_one_clear_line(result, 2, "'cheap'", "'value'", "Subhead")
    assert server.received_prompts == [] and not (tmp_path / "runs").exists()
    assert not (tmp_path / "runs" / "budget.jsonl").exists() or "reserve" not in (tmp_path / "runs" / "budget.jsonl").read_text()
