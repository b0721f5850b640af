"""POST /prompt validation answers of the mock, case by case against recorded/validation.json."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import httpx
import pytest

COMFY = Path(__file__).resolve().parent / "fixtures" / "comfyui"
RECORDED = json.loads((COMFY / "recorded" / "validation.json").read_text())


def chain(width=64, seed=42, prefix="probe/modelfree") -> dict:
    """The recorded model-free graph: EmptyImage -> ImageAddNoise -> ImageInvert -> SaveImage."""
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": width, "height": 48, "batch_size": 1, "color": 0}},
        "2": {"class_type": "ImageAddNoise", "inputs": {"image": ["1", 0], "seed": seed, "strength": 0.5}},
        "3": {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": prefix}},
    }


def scale_magic() -> dict:
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
        "2": {"class_type": "ImageScale", "inputs": {"image": ["1", 0], "upscale_method": "magic", "width": 4,
                                                     "height": 4, "crop": "disabled"}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "probe/bad"}},
    }


def two_outputs_one_invalid() -> dict:
    graph = chain()
    graph["5"] = {"class_type": "ImageScale", "inputs": {"image": ["1", 0], "upscale_method": "magic", "width": 4,
                                                         "height": 4, "crop": "disabled"}}
    graph["6"] = {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "probe/bad"}}
    return graph


def sd15_graph() -> dict:
    return json.loads((COMFY / "workflows" / "txt2img_sd15_api.json").read_text())


def missing_width() -> dict:
    graph = chain()
    del graph["1"]["inputs"]["width"]
    return graph


def with_width(value) -> dict:
    return chain(width=value)


def unknown_class() -> dict:
    graph = chain()
    graph["2"]["class_type"] = "NoSuchNode"
    return graph


def missing_class_type() -> dict:
    graph = chain()
    del graph["2"]["class_type"]
    return graph


def no_output() -> dict:
    graph = chain()
    del graph["4"]
    return graph


def bad_link() -> dict:
    graph = chain()
    graph["3"]["inputs"]["image"] = ["2"]
    return graph


def link_to_missing() -> dict:
    graph = chain()
    graph["3"]["inputs"]["image"] = ["99", 0]
    return graph


def mask_into_save() -> dict:
    return {
        "1": {"class_type": "SolidMask", "inputs": {"value": 1.0, "width": 8, "height": 8}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "probe/mask"}},
    }


def ui_workflow() -> dict:
    """What the ComfyUI frontend's plain "Save" writes (not "Save (API)")."""
    return {
        "last_node_id": 2, "last_link_id": 1,
        "nodes": [{"id": 1, "type": "EmptyImage", "widgets_values": [64, 64, 1, 0]},
                  {"id": 2, "type": "SaveImage", "inputs": [{"name": "images", "link": 1}]}],
        "links": [[1, 1, 0, 2, 0, "IMAGE"]], "version": 0.4,
    }


# case name -> (path, request body as bytes or JSON, mock options)
CASES = {
    "invalid_json": ("/prompt", b'{"prompt": {"1": ', {}),
    "no_prompt_key": ("/prompt", {"client_id": "abc"}, {}),
    "unknown_class": ("/prompt", {"prompt": unknown_class()}, {}),
    "missing_class_type": ("/prompt", {"prompt": missing_class_type()}, {}),
    "missing_required_input": ("/prompt", {"prompt": missing_width()}, {}),
    "value_not_in_list_short": ("/prompt", {"prompt": scale_magic()}, {}),
    "txt2img_missing_ckpt": ("/prompt", {"prompt": sd15_graph()}, {"checkpoints": []}),
    "no_output_node": ("/prompt", {"prompt": no_output()}, {}),
    "value_bigger_than_max": ("/prompt", {"prompt": with_width(99999)}, {}),
    "value_smaller_than_min": ("/prompt", {"prompt": with_width(0)}, {}),
    "invalid_input_type": ("/prompt", {"prompt": with_width("wide")}, {}),
    "bad_linked_input": ("/prompt", {"prompt": bad_link()}, {}),
    "link_to_missing_node": ("/prompt", {"prompt": link_to_missing()}, {}),
    "return_type_mismatch": ("/prompt", {"prompt": mask_into_save()}, {}),
    "ui_format_workflow": ("/prompt", {"prompt": ui_workflow()}, {}),
    "one_of_two_outputs_invalid": ("/prompt", {"prompt": two_outputs_one_invalid()}, {}),
    "own_prompt_id": ("/prompt", {"prompt": chain(), "prompt_id": "my-own-id-f51d715c"}, {}),
    "api_prefix_post": ("/api/prompt", {"prompt": two_outputs_one_invalid()}, {}),
    "non_json_content": ("/prompt", b"prompt=hello", {}),
}

# Fields that legitimately differ between runs: compared for type only.
VARYING = {"prompt_id", "number"}


def normalise(body: dict, keep: frozenset = frozenset()) -> dict:
    out = copy.deepcopy(body)
    for key in VARYING - keep:
        if key in out:
            out[key] = type(out[key]).__name__
    return out


def test_every_recorded_case_has_a_graph():
    recorded_posts = {k for k, v in RECORDED.items() if "path" in v}
    assert recorded_posts - {"duplicate_prompt_id"} == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_validation_answer_matches_recording(mock_comfy, case):
    path, body, options = CASES[case]
    expected = RECORDED[case]
    server = mock_comfy(**options)
    if isinstance(body, bytes):
        r = httpx.post(server.url + path, content=body, headers={"Content-Type": "text/plain"})
    else:
        r = httpx.post(server.url + path, json=body)
    assert r.status_code == expected["status"]
    assert r.headers["content-type"] == expected["content_type"]
    if "text" in expected:
        assert r.text == expected["text"]
    else:
        keep = frozenset({"prompt_id"}) if case == "own_prompt_id" else frozenset()
        assert normalise(r.json(), keep) == normalise(expected["json"], keep)
    # Every body is recorded, valid or not, in order.
    assert len(server.received_prompts) == 1


def test_value_not_in_list_uses_the_mock_checkpoint_list(mock_comfy):
    server = mock_comfy(checkpoints=["a.safetensors", "b.safetensors"])
    graph = sd15_graph()
    r = httpx.post(server.url + "/prompt", json={"prompt": graph})
    err = r.json()["node_errors"]["4"]["errors"][0]
    assert r.status_code == 400
    assert err["details"] == "ckpt_name: 'v1-5-pruned-emaonly.safetensors' not in ['a.safetensors', 'b.safetensors']"
    assert err["extra_info"]["input_config"][0] == ["a.safetensors", "b.safetensors"]


def test_long_option_lists_are_not_echoed(mock_comfy):
    server = mock_comfy(checkpoints=[f"m{i}.safetensors" for i in range(25)])
    r = httpx.post(server.url + "/prompt", json={"prompt": sd15_graph()})
    err = r.json()["node_errors"]["4"]["errors"][0]
    assert err["details"].endswith("not in (list of length 25)")
    assert err["extra_info"]["input_config"] is None


def test_duplicate_prompt_id_overwrites_history(mock_comfy):
    server = mock_comfy()
    pid = "my-own-id-f51d715c"
    first = httpx.post(server.url + "/prompt", json={"prompt": chain(seed=1001), "prompt_id": pid})
    second = httpx.post(server.url + "/prompt", json={"prompt": chain(seed=1002), "prompt_id": pid})
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["prompt_id"] == second.json()["prompt_id"] == pid
    assert second.json()["number"] == first.json()["number"] + 1
    deadline = time.monotonic() + 15
    while len(server.executions) < 2 or server.executions[-1]["execution_end"] is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    history = httpx.get(server.url + "/history").json()
    expected = RECORDED["duplicate_prompt_id_history_keys"]
    assert list(history) == expected["ids"]
    assert history[pid]["prompt"][2]["2"]["inputs"]["seed"] == expected["seed_in_history"]


def test_converted_values_are_queued(mock_comfy):
    """ComfyUI converts INT inputs in place; the history shows the converted graph."""
    server = mock_comfy()
    r = httpx.post(server.url + "/prompt", json={"prompt": chain(width="32")})
    pid = r.json()["prompt_id"]
    deadline = time.monotonic() + 15
    while not httpx.get(f"{server.url}/history/{pid}").json():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    entry = httpx.get(f"{server.url}/history/{pid}").json()[pid]
    assert entry["prompt"][2]["1"]["inputs"]["width"] == 32
    assert server.received_prompts[0]["prompt"]["1"]["inputs"]["width"] == "32"
