"""The console helps: a busy port is one line, one-file commands take -o, help shows examples and channels."""

from __future__ import annotations

import json
import socket

import pytest
import yaml
from PIL import Image

from cli_helpers import REPO, run_creative


def test_mock_comfy_on_a_port_in_use_is_one_line_naming_it_and_exit_2(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_creative("mock-comfy", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and f"port {port}" in lines[0] and "already in use" in lines[0]
    assert "--port" in lines[0]  # how to fix it
    assert "Traceback" not in result.stderr


def test_layout_preview_writes_to_dash_o(tmp_path):
    out = tmp_path / "previews" / "p.png"
    result = run_creative("layout", "preview", "--layout", "1x1", "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (1080, 1080)
        assert len(image.convert("RGB").getcolors(1_000_000) or []) > 10  # boxes, labels and copy drawn
    assert [p.name for p in out.parent.iterdir()] == ["p.png"]  # written atomically: no temp file left


def test_runlog_schema_to_stdout_or_to_dash_o(tmp_path):
    printed = run_creative("runlog", "schema", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    schema = json.loads(printed.stdout)
    assert "variants" in schema["properties"] and "status" in schema["properties"]
    out = tmp_path / "schema" / "runlog.schema.json"
    written = run_creative("runlog", "schema", "-o", str(out), cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip() == str(out)
    assert json.loads(out.read_text()) == schema
    assert [p.name for p in out.parent.iterdir()] == ["runlog.schema.json"]


WIDE = {"COLUMNS": "200"}  # no wrapping, so each example stays on one line of the help


@pytest.mark.parametrize(("args", "example"), [
    ((), "creative run --url"),
    (("run",), "creative run --brief"),
    (("brief",), "creative brief --url"),
    (("export",), "creative export runs/"),
])
def test_help_shows_examples(tmp_path, args, example):
    result = run_creative(*args, "--help", cwd=tmp_path, env=WIDE)
    assert result.returncode == 0, result.stderr
    assert "Examples:" in result.stdout
    assert example in result.stdout


def channels_section(help_text: str) -> str:
    assert "Channels (--channel" in help_text, help_text
    return help_text.split("Channels (--channel", 1)[1]


def test_run_help_lists_the_channels_of_the_templates_in_use(tmp_path):
    packaged = yaml.safe_load((REPO / "templates" / "channels.yaml").read_text())
    shown = channels_section(run_creative("run", "--help", cwd=tmp_path, env=WIDE).stdout)
    for name, body in packaged.items():
        assert f"{name} " in shown and body["description"] in shown, name
    # Read when help is shown: a templates folder of one's own shows its own channels.
    own = tmp_path / "templates"
    own.mkdir()
    (own / "channels.yaml").write_text(
        "shop_window:\n  description: In-store screen\n  sizes:\n    - {width: 1920, height: 1080, layout: 16x9}\n")
    mine = channels_section(run_creative("run", "--help", cwd=tmp_path, env=WIDE).stdout)
    assert "shop_window" in mine and "In-store screen (1920x1080)" in mine
    assert "meta_static" not in mine


def test_run_help_still_prints_when_channels_yaml_is_broken(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "channels.yaml").write_text("meta_static: [unclosed\n")
    result = run_creative("run", "--help", cwd=tmp_path, env=WIDE)
    assert result.returncode == 0, result.stderr
    assert "Examples:" in result.stdout and "cannot read" in result.stdout
