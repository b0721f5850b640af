"""Graph validation for the mock ComfyUI, mirroring ComfyUI 0.3.x `execution.validate_prompt`.

The code deliberately touches the posted graph the way ComfyUI does (plain indexing, `in`
checks, int()/float() conversions), so malformed graphs fail the same way: most problems
become error dicts, while shapes ComfyUI never expected (a UI-format workflow, a prompt that
is not an object) raise, and the route turns that into ComfyUI's 500 text answer.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

log = logging.getLogger(__name__)

# The recordings replace real tracebacks with this placeholder; the mock sends the same lines.
TRACEBACK_PLACEHOLDER = ["Traceback (most recent call last):\n", "  (frames omitted in this recording)\n"]

# ComfyUI stops echoing a combo's options past this length (long model lists).
MAX_LISTED_OPTIONS = 20


def node_defs_with_checkpoints(object_info: dict, checkpoints: list[str]) -> dict:
    """Copy of `object_info` with every `ckpt_name` combo replaced by `checkpoints`."""
    defs = copy.deepcopy(object_info)
    for spec in defs.values():
        for category in ("required", "optional"):
            inputs = spec.get("input", {}).get(category, {})
            if "ckpt_name" in inputs:
                inputs["ckpt_name"][0] = list(checkpoints)
    return defs


def is_output_node(node_def: dict) -> bool:
    return node_def.get("output_node") is True


def _full_type_name(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module in (None, "builtins") else f"{module}.{cls.__qualname__}"


def _input_info(node_def: dict, name: str) -> tuple[Any, str | None, dict]:
    inputs = node_def.get("input", {})
    for category in ("required", "optional", "hidden"):
        if name in inputs.get(category, {}):
            spec = inputs[category][name]
            if category == "hidden":
                return spec, category, {}
            extra = spec[1] if len(spec) > 1 else {}
            return spec[0], category, extra
    return None, None, {}


def validate_node_input(received_type: Any, input_type: Any) -> bool:
    """ComfyUI's link type check: equal, '*' wildcard, or overlapping comma-separated unions."""
    if received_type == input_type:
        return True
    if not isinstance(received_type, str) or not isinstance(input_type, str):
        return False
    received = {t.strip() for t in received_type.split(",")}
    wanted = {t.strip() for t in input_type.split(",")}
    if "*" in received or "*" in wanted:
        return True
    return bool(received & wanted)


def _validate_inputs(prompt: dict, unique_id: Any, validated: dict, defs: dict) -> tuple:
    if unique_id in validated:
        return validated[unique_id]

    inputs = prompt[unique_id]["inputs"]
    class_type = prompt[unique_id]["class_type"]
    node_def = defs[class_type]
    declared = node_def.get("input", {})
    valid_inputs = list(declared.get("required", {})) + list(declared.get("optional", {}))

    errors: list[dict] = []
    valid = True
    for x in valid_inputs:
        input_type, category, extra_info = _input_info(node_def, x)
        if x not in inputs:
            if category == "required":
                errors.append({
                    "type": "required_input_missing",
                    "message": "Required input is missing",
                    "details": f"{x}",
                    "extra_info": {"input_name": x},
                })
            continue

        val = inputs[x]
        info = [input_type, extra_info]
        if isinstance(val, list):
            if len(val) != 2:
                errors.append({
                    "type": "bad_linked_input",
                    "message": "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                    "details": f"{x}",
                    "extra_info": {"input_name": x, "input_config": info, "received_value": val},
                })
                continue
            o_id = val[0]
            o_class_type = prompt[o_id]["class_type"]
            received_type = tuple(defs[o_class_type]["output"])[val[1]]
            if not validate_node_input(received_type, input_type):
                details = f"{x}, received_type({received_type}) mismatch input_type({input_type})"
                errors.append({
                    "type": "return_type_mismatch",
                    "message": "Return type mismatch between linked nodes",
                    "details": details,
                    "extra_info": {
                        "input_name": x,
                        "input_config": info,
                        "received_type": received_type,
                        "linked_node": val,
                    },
                })
                continue
            try:
                r = _validate_inputs(prompt, o_id, validated, defs)
                if r[0] is False:
                    valid = False
                    continue
            except Exception as ex:  # noqa: BLE001 - mirrors ComfyUI: inner failures become reasons
                valid = False
                validated[o_id] = (False, [{
                    "type": "exception_during_inner_validation",
                    "message": "Exception when validating inner node",
                    "details": str(ex),
                    "extra_info": {
                        "input_name": x,
                        "input_config": info,
                        "exception_message": str(ex),
                        "exception_type": _full_type_name(ex),
                        "traceback": list(TRACEBACK_PLACEHOLDER),
                        "linked_node": val,
                    },
                }], o_id)
                continue
        else:
            try:
                if isinstance(val, dict) and "__value__" in val:
                    val = val["__value__"]
                    inputs[x] = val
                if input_type == "INT":
                    val = int(val)
                    inputs[x] = val
                if input_type == "FLOAT":
                    val = float(val)
                    inputs[x] = val
                if input_type == "STRING":
                    val = str(val)
                    inputs[x] = val
                if input_type == "BOOLEAN":
                    val = bool(val)
                    inputs[x] = val
            except Exception as ex:  # noqa: BLE001 - any conversion failure is a validation error
                errors.append({
                    "type": "invalid_input_type",
                    "message": f"Failed to convert an input value to a {input_type} value",
                    "details": f"{x}, {val}, {ex}",
                    "extra_info": {
                        "input_name": x,
                        "input_config": info,
                        "received_value": val,
                        "exception_message": str(ex),
                    },
                })
                continue

            if "min" in extra_info and val < extra_info["min"]:
                errors.append({
                    "type": "value_smaller_than_min",
                    "message": "Value {} smaller than min of {}".format(val, extra_info["min"]),
                    "details": f"{x}",
                    "extra_info": {"input_name": x, "input_config": info, "received_value": val},
                })
                continue
            if "max" in extra_info and val > extra_info["max"]:
                errors.append({
                    "type": "value_bigger_than_max",
                    "message": "Value {} bigger than max of {}".format(val, extra_info["max"]),
                    "details": f"{x}",
                    "extra_info": {"input_name": x, "input_config": info, "received_value": val},
                })
                continue
            if isinstance(input_type, list) and val not in input_type:
                input_config: Any = info
                if len(input_type) > MAX_LISTED_OPTIONS:
                    list_info = f"(list of length {len(input_type)})"
                    input_config = None
                else:
                    list_info = str(input_type)
                errors.append({
                    "type": "value_not_in_list",
                    "message": "Value not in list",
                    "details": f"{x}: '{val}' not in {list_info}",
                    "extra_info": {"input_name": x, "input_config": input_config, "received_value": val},
                })
                continue

    ret = (False, errors, unique_id) if errors or valid is not True else (True, [], unique_id)
    validated[unique_id] = ret
    return ret


def validate_prompt(prompt: Any, defs: dict, partial_execution_targets: list | None = None) -> tuple:
    """Validate an API-format graph.

    Returns (ok, error, good_outputs, node_errors) like ComfyUI. Converts INT/FLOAT/STRING
    inputs in place, as ComfyUI does, so the queued graph carries the converted values.
    Raises for graph shapes ComfyUI itself crashes on (the route answers 500).
    """
    outputs: list = []
    for x in prompt:
        if "class_type" not in prompt[x]:
            return (False, {
                "type": "invalid_prompt",
                "message": "Cannot execute because a node is missing the class_type property.",
                "details": f"Node ID '#{x}'",
                "extra_info": {},
            }, [], {})
        class_type = prompt[x]["class_type"]
        node_def = defs.get(class_type)
        if node_def is None:
            return (False, {
                "type": "invalid_prompt",
                "message": f"Cannot execute because node {class_type} does not exist.",
                "details": f"Node ID '#{x}'",
                "extra_info": {},
            }, [], {})
        if is_output_node(node_def) and (partial_execution_targets is None or x in partial_execution_targets):
            outputs.append(x)

    if not outputs:
        return (False, {
            "type": "prompt_no_outputs",
            "message": "Prompt has no outputs",
            "details": "",
            "extra_info": {},
        }, [], {})

    good_outputs: list = []
    failed: list[tuple[Any, list]] = []
    node_errors: dict = {}
    validated: dict = {}
    for o in outputs:
        try:
            valid, reasons, _ = _validate_inputs(prompt, o, validated, defs)
        except Exception as ex:  # noqa: BLE001 - mirrors ComfyUI's exception_during_validation
            valid = False
            reasons = [{
                "type": "exception_during_validation",
                "message": "Exception when validating node",
                "details": str(ex),
                "extra_info": {"exception_type": _full_type_name(ex), "traceback": list(TRACEBACK_PLACEHOLDER)},
            }]
            validated[o] = (False, reasons, o)
        if valid is True:
            good_outputs.append(o)
            continue
        log.info("mock comfy: output %s failed validation", o)
        failed.append((o, reasons))
        for node_id, result in validated.items():
            # Downstream nodes of a broken node are invalid with no reasons: not reported.
            if result[0] is not True and result[1]:
                if node_id not in node_errors:
                    node_errors[node_id] = {
                        "errors": result[1],
                        "dependent_outputs": [],
                        "class_type": prompt[node_id]["class_type"],
                    }
                node_errors[node_id]["dependent_outputs"].append(o)

    if not good_outputs:
        details = "\n".join(f"{e['message']}: {e['details']}" for _, errs in failed for e in errs)
        return (False, {
            "type": "prompt_outputs_failed_validation",
            "message": "Prompt outputs failed validation",
            "details": details,
            "extra_info": {},
        }, [], node_errors)
    return (True, None, good_outputs, node_errors)
