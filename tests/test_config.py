"""Settings layers and their errors."""

from __future__ import annotations

import pytest

from creative.core.config import load_settings
from creative.core.errors import ConfigError


def test_layers_defaults_file_env_flags(tmp_path):
    config = tmp_path / "creative.yaml"
    config.write_text("comfyui:\n  urls: [http://a:1]\nbudget:\n  monthly_cap_usd: 50\npaths:\n  runs_dir: out\n")
    settings = load_settings(config, env={})
    assert settings.comfyui.urls == ["http://a:1"]
    assert settings.budget.monthly_cap_usd == 50
    assert settings.paths.runs_dir == tmp_path / "out"  # relative to the config file
    assert settings.budget.cost_per_image_usd == 0.04  # default kept

    settings = load_settings(config, env={"CREATIVE_BUDGET_CAP_USD": "75", "CREATIVE_COMFY_URLS": "http://b:2, http://c:3"})
    assert settings.budget.monthly_cap_usd == 75
    assert settings.comfyui.urls == ["http://b:2", "http://c:3"]

    settings = load_settings(config, env={"CREATIVE_COMFY_URLS": "http://b:2"}, overrides={"comfyui.urls": ["http://d:4"]})
    assert settings.comfyui.urls == ["http://d:4"]


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, env={})
    assert settings.comfyui.urls == ["http://127.0.0.1:8188"]
    assert settings.budget.monthly_cap_usd == 500


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("budget:\n  monthly_cap_usd: lots\n", "budget.monthly_cap_usd: Input should be a valid number"),
        ("comfyui:\n  urlz: [x]\n", "comfyui.urlz: Extra inputs are not permitted"),
        ("comfyui: [unclosed\n", "line 2, column 1"),
        ("- just\n- a list\n", "expected a mapping of settings"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, expected):
    config = tmp_path / "creative.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(config, env={})
    assert str(config) in info.value.message
    assert expected in info.value.message


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_readme_config_example_is_valid(tmp_path):
    """The creative.yaml shown in the README loads as it is."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if b.startswith("comfyui:"))
    config = tmp_path / "creative.yaml"
    config.write_text(block)
    settings = load_settings(config, env={})
    assert settings.comfyui.urls == ["http://gpu-1:8188", "http://gpu-2:8188"]
    assert settings.research.backend == "auto"
