"""yaml_text.safe_load: the C parser's results, PyYAML's pure-Python error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from creative.core import yaml_text

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted([*ROOT.glob("brand/**/*.yaml"), *ROOT.glob("templates/**/*.yaml")])


def test_the_c_parser_is_used_when_pyyaml_has_it():
    assert yaml_text._C_LOADER is getattr(yaml, "CSafeLoader", None)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_yaml_file_loads_as_pyyaml_safe_load_does(path):
    text = path.read_text(encoding="utf-8")
    assert yaml_text.safe_load(text) == yaml.safe_load(text)


def test_an_error_keeps_pyyaml_wording_and_position():
    text = "brand: Lumen\ncolors:\n  primary: '#123'\n  bad: [unclosed\n"
    with pytest.raises(yaml.YAMLError) as ours:
        yaml_text.safe_load(text)
    with pytest.raises(yaml.YAMLError) as theirs:
        yaml.safe_load(text)
    assert str(ours.value) == str(theirs.value)
    assert ours.value.problem_mark.line == theirs.value.problem_mark.line


def test_unsafe_tags_are_refused():
    with pytest.raises(yaml.YAMLError):
        yaml_text.safe_load("!!python/object/apply:os.system ['true']")
