"""Workflow templates and bind files: loading, validation messages, apply(), hashing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from creative.gen.workflow import (
    default_workflow_path,
    graph_sha256,
    load_workflow,
    missing_models,
    model_loader_classes,
)
from creative.core.errors import WorkflowError

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "templates"
SHARED = REPO / "tests" / "fixtures" / "comfyui"

GRAPH = {
    "3": {"class_type": "KSampler", "inputs": {"seed": 1, "model": ["4", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "pos", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "neg", "clip": ["4", 1]}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["3", 0]}},
}
GOOD_BIND = """\
seed: {node: "3", input: seed}
width: {node: "5", input: width}
height: {node: "5", input: height}
positive: {node: "6", input: text}
negative: [{node: "7", input: text}]
output: {node: 9}
"""


def write(tmp_path: Path, bind: str | None, graph: object = GRAPH) -> Path:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(graph))
    if bind is not None:
        (tmp_path / "wf.bind.yaml").write_text(bind)
    return path


def test_shipped_templates_load_and_default_is_sdxl():
    default = default_workflow_path(TEMPLATES)
    assert default == TEMPLATES / "workflows" / "sdxl_txt2img.json"
    sdxl = load_workflow(default)
    assert sdxl.output_node == "9"
    assert sdxl.graph["4"]["inputs"]["ckpt_name"] == "sd_xl_base_1.0.safetensors"
    sd15 = load_workflow(TEMPLATES / "workflows" / "sd15_txt2img.json")
    assert [n["inputs"]["ckpt_name"] for n in sd15.graph.values() if "ckpt_name" in n["inputs"]] == ["v1-5-pruned-emaonly.safetensors"]


def test_sdxl_apply_writes_both_text_encoders_and_keeps_template():
    wf = load_workflow(default_workflow_path(TEMPLATES))
    before = json.dumps(wf.graph, sort_keys=True)
    g = wf.apply("a calm beach", "text, letters", 77, 832, 1216)
    assert g["6"]["inputs"]["text_g"] == g["6"]["inputs"]["text_l"] == "a calm beach"
    assert g["7"]["inputs"]["text"] == "text, letters"
    assert g["3"]["inputs"]["seed"] == 77
    assert (g["5"]["inputs"]["width"], g["5"]["inputs"]["height"]) == (832, 1216)
    assert g["3"]["inputs"]["positive"] == ["6", 0]  # links untouched
    assert json.dumps(wf.graph, sort_keys=True) == before  # apply() never mutates the template


def test_templates_match_recorded_graphs_apart_from_variables():
    # The shipped graphs must keep the structure that passed validation on real ComfyUI.
    recorded = json.loads((SHARED / "workflows" / "txt2img_sdxl_simple_api.json").read_text())
    ours = load_workflow(default_workflow_path(TEMPLATES)).graph
    assert {k: v["class_type"] for k, v in ours.items()} == {
        k: v["class_type"] for k, v in recorded.items()}
    for node_id, node in recorded.items():
        assert set(ours[node_id]["inputs"]) == set(node["inputs"]), node_id


def test_apply_on_tmp_workflow(tmp_path):
    wf = load_workflow(write(tmp_path, GOOD_BIND))
    g = wf.apply("P", "N", 5, 640, 480)
    assert g["6"]["inputs"]["text"] == "P" and g["7"]["inputs"]["text"] == "N"
    assert g["3"]["inputs"] == {"seed": 5, "model": ["4", 0]}
    assert g["5"]["inputs"] == {"width": 640, "height": 480}
    assert wf.bind.output.node == "9"  # int in YAML coerced to the string id


def test_graph_sha256_is_canonical_and_sensitive():
    a = {"b": {"inputs": {"y": 1, "x": "é"}}, "a": {"inputs": {}}}
    b = {"a": {"inputs": {}}, "b": {"inputs": {"x": "é", "y": 1}}}
    assert graph_sha256(a) == graph_sha256(b)
    import hashlib
    expected = hashlib.sha256('{"a":{"inputs":{}},"b":{"inputs":{"x":"é","y":1}}}'.encode()).hexdigest()
    assert graph_sha256(a) == expected
    b["b"]["inputs"]["y"] = 2
    assert graph_sha256(a) != graph_sha256(b)


BAD_BINDS = [
    # (bind text, expected message fragment after "bind file <path>")
    (GOOD_BIND.replace('seed: {node: "3", input: seed}', 'seed: {node: "99", input: seed}'),
     ": seed names node 99, which is not in the workflow"),
    (GOOD_BIND.replace('positive: {node: "6", input: text}', 'positive: {node: "6", input: txt}'),
     ": positive names input 'txt' of node 6 (CLIPTextEncode), which has no such input"),
    (GOOD_BIND.replace('negative: [{node: "7", input: text}]',
                       'negative: [{node: "7", input: text}, {node: "7", input: nope}]'),
     ": negative[1] names input 'nope' of node 7 (CLIPTextEncode), which has no such input"),
    (GOOD_BIND.replace("output: {node: 9}", "output: {node: 42}"),
     ": output names node 42, which is not in the workflow"),
    (GOOD_BIND.replace('seed: {node: "3", input: seed}', 'seed: {node: "6", input: clip}'),
     ": seed names input 'clip' of node 6, which is a link to another node; "
     "bind a literal input instead"),
    (GOOD_BIND + "sampler: {node: \"3\", input: x}\n", ": sampler: Extra inputs are not permitted"),
    (GOOD_BIND.replace('width: {node: "5", input: width}\n', ""), ": width: Field required"),
    (GOOD_BIND.replace('height: {node: "5", input: height}', 'height: {node: "5", inp: height}'),
     ": height.input: Field required"),
]


@pytest.mark.parametrize("bind,expected", BAD_BINDS)
def test_bind_validation_messages(tmp_path, bind, expected):
    path = write(tmp_path, bind)
    with pytest.raises(WorkflowError) as err:
        load_workflow(path)
    assert err.value.message == f"bind file {tmp_path / 'wf.bind.yaml'}{expected}"


def test_missing_bind_file_says_what_to_create(tmp_path):
    path = write(tmp_path, None)
    with pytest.raises(WorkflowError) as err:
        load_workflow(path)
    assert err.value.message == f"bind file {tmp_path / 'wf.bind.yaml'} is missing"
    for key in ("seed", "width", "height", "output", "positive", "negative"):
        assert key in err.value.hint


def test_ui_format_workflow_is_refused(tmp_path):
    path = write(tmp_path, GOOD_BIND, graph={"nodes": [], "links": [], "version": 0.4})
    with pytest.raises(WorkflowError, match="UI format") as err:
        load_workflow(path)
    assert "Save (API)" in err.value.hint


def test_node_without_class_type_is_refused(tmp_path):
    graph = {**GRAPH, "10": {"inputs": {}}}
    with pytest.raises(WorkflowError, match=r"node 10 has no class_type"):
        load_workflow(write(tmp_path, GOOD_BIND, graph=graph))


def test_missing_models_against_recorded_object_info():
    recorded = json.loads((SHARED / "recorded" / "dummy_ckpt.json").read_text())
    info = recorded["object_info"]["json"]  # real GET /object_info/CheckpointLoaderSimple
    graph = load_workflow(default_workflow_path(TEMPLATES)).graph
    problems = missing_models(graph, info)
    choices = info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
    assert "sd_xl_base_1.0.safetensors" not in choices
    assert problems == [
        "node 4 (CheckpointLoaderSimple): ckpt_name 'sd_xl_base_1.0.safetensors' is not "
        f"installed (available: {', '.join(choices) or 'none'})"]
    graph["4"]["inputs"]["ckpt_name"] = choices[0]
    assert missing_models(graph, info) == []


def test_model_loader_classes_and_new_style_combo_choices():
    graph = load_workflow(default_workflow_path(TEMPLATES)).graph
    assert model_loader_classes(graph) == ["CheckpointLoaderSimple"]
    assert model_loader_classes({"1": {"class_type": "CheckpointLoaderSimple",
                                       "inputs": {"ckpt_name": ["9", 0]}}}) == []  # a link
    # ComfyUI's newer node schema: ["COMBO", {"options": [...]}]
    info = {"CheckpointLoaderSimple": {"input": {"required": {
        "ckpt_name": ["COMBO", {"options": ["a.safetensors"]}]}}}}
    assert missing_models(graph, info) == [
        "node 4 (CheckpointLoaderSimple): ckpt_name 'sd_xl_base_1.0.safetensors' is not "
        "installed (available: a.safetensors)"]
