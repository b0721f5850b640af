"""ComfyUI workflow templates ("Save (API)" JSON) and their bind files.

A bind file (`X.bind.yaml` beside `X.json`) says which node input takes the seed, size and
prompts, and which node is the output. Any API-format workflow works once it has one.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError, field_validator

from creative.core.errors import WorkflowError
from creative.core.json_text import loads as json_loads
from creative.core.strict import Strict
from creative.core.yaml_text import safe_load

log = logging.getLogger(__name__)

DEFAULT_WORKFLOW = "sdxl_txt2img"

# Inputs that name a checkpoint file; used for an early "is the model installed" check.
CHECKPOINT_INPUTS = ("ckpt_name",)

BIND_EXAMPLE = (
    'seed: {node: "3", input: seed}; width: {node: "5", input: width}; '
    'height: {node: "5", input: height}; positive: {node: "6", input: text}; '
    'negative: {node: "7", input: text}; output: {node: "9"}'
)


def _node_id(value: Any) -> Any:
    # YAML turns `node: 3` into an int; ComfyUI node ids are strings.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class InputTarget(Strict):
    """One node input: `{node: "<id>", input: "<name>"}`."""

    node: str
    input: str

    _coerce_node = field_validator("node", mode="before")(_node_id)


class OutputTarget(Strict):
    """The node whose images are the result: `{node: "<id>"}`."""

    node: str

    _coerce_node = field_validator("node", mode="before")(_node_id)


class Binding(Strict):
    """Contents of a `.bind.yaml` file."""

    seed: InputTarget
    width: InputTarget
    height: InputTarget
    output: OutputTarget
    positive: InputTarget | list[InputTarget] | None = None
    negative: InputTarget | list[InputTarget] | None = None

    def targets(self) -> list[tuple[str, InputTarget]]:
        """Every (key path, input target) pair, for validation and apply()."""
        out: list[tuple[str, InputTarget]] = []
        for key in ("seed", "width", "height", "positive", "negative"):
            value = getattr(self, key)
            if value is None:
                continue
            if isinstance(value, list):
                out.extend((f"{key}[{i}]", t) for i, t in enumerate(value))
            else:
                out.append((key, value))
        return out


@dataclass
class Workflow:
    """An API-format graph plus the binding that says where the variables go."""

    name: str
    path: Path
    graph: dict
    bind: Binding

    @property
    def output_node(self) -> str:
        return self.bind.output.node

    def apply(self, positive: str, negative: str, seed: int, width: int, height: int) -> dict:
        """Return a new graph with prompts, seed and size written into the bound inputs."""
        graph = copy.deepcopy(self.graph)
        values = {"seed": seed, "width": width, "height": height,
                  "positive": positive, "negative": negative}
        for key_path, target in self.bind.targets():
            key = key_path.split("[", 1)[0]
            graph[target.node]["inputs"][target.input] = values[key]
        return graph


def graph_sha256(graph: dict) -> str:
    """Canonical hash of a graph: sorted keys, compact separators, UTF-8."""
    text = json.dumps(graph, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_workflow_path(templates_dir: Path) -> Path:
    """The default workflow shipped in `templates/workflows/`."""
    return Path(templates_dir) / "workflows" / f"{DEFAULT_WORKFLOW}.json"


def bind_path_for(path: Path) -> Path:
    """`X.json` -> `X.bind.yaml` beside it."""
    path = Path(path)
    return path.with_name(path.stem + ".bind.yaml")


def model_loader_classes(graph: dict) -> list[str]:
    """Classes of the nodes that load a named model (a literal `ckpt_name`), in node order."""
    classes: list[str] = []
    for node in graph.values():
        inputs = node.get("inputs", {}) if isinstance(node, dict) else {}
        cls = node.get("class_type") if isinstance(node, dict) else None
        if (isinstance(cls, str) and cls not in classes
                and any(isinstance(inputs.get(key), str) for key in CHECKPOINT_INPUTS)):
            classes.append(cls)
    return classes


def _choices(spec: object) -> list | None:
    """Allowed values of a combo input spec: old `[[...], {}]` or new `["COMBO", {options}]`."""
    if not isinstance(spec, list) or not spec:
        return None
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        options = spec[1].get("options")
        return options if isinstance(options, list) else None
    return None


def missing_models(graph: dict, object_info: dict) -> list[str]:
    """Model-like inputs whose value the server does not offer, as readable lines.

    Uses `/object_info`: an input whose spec is a list of choices (e.g. `ckpt_name`) must
    hold one of them. Returns e.g. ["node 4 (CheckpointLoaderSimple): ckpt_name
    'x.safetensors' is not installed (available: a.safetensors)"]; empty when all is well.
    """
    problems: list[str] = []
    for node_id, node in graph.items():
        class_type = node.get("class_type")
        spec = object_info.get(class_type, {}).get("input", {})
        allowed_specs = {**spec.get("required", {}), **spec.get("optional", {})}
        for key in CHECKPOINT_INPUTS:
            value = node.get("inputs", {}).get(key)
            choices = _choices(allowed_specs.get(key))
            if isinstance(value, str) and choices is not None and value not in choices:
                available = ", ".join(map(str, choices)) or "none"
                problems.append(f"node {node_id} ({class_type}): {key} '{value}' is not "
                                f"installed (available: {available})")
    return problems


def _loc(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in ("InputTarget", "list[InputTarget]"):
            continue  # pydantic's union branch names are noise for the user
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _load_graph(path: Path) -> dict:
    try:
        graph = json_loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkflowError(f"workflow {path} does not exist",
                            hint="pass an API-format workflow JSON file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkflowError(f"workflow {path} is not valid JSON: {exc}") from None
    if isinstance(graph, dict) and ("nodes" in graph or "links" in graph):
        raise WorkflowError(
            f"workflow {path} is in ComfyUI's UI format (has 'nodes'/'links'), not API format",
            hint="in ComfyUI use Workflow > Export (API) / 'Save (API)' and use that file")
    if not isinstance(graph, dict) or not graph:
        raise WorkflowError(f"workflow {path} must be a JSON object of nodes keyed by id")
    for node_id, node in graph.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            raise WorkflowError(f"workflow {path}: node {node_id} has no class_type",
                                hint="export the workflow with 'Save (API)'")
        if not isinstance(node.get("inputs"), dict):
            raise WorkflowError(f"workflow {path}: node {node_id} has no inputs object")
    return graph


def _load_binding(bind_path: Path, graph: dict) -> Binding:
    if not bind_path.exists():
        raise WorkflowError(f"bind file {bind_path} is missing",
                            hint=f"create it with the keys seed, width, height, output and "
                                 f"optionally positive, negative, e.g. {BIND_EXAMPLE}")
    try:
        raw = safe_load(bind_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise WorkflowError(f"bind file {bind_path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise WorkflowError(f"bind file {bind_path} must be a mapping with keys "
                            f"seed, width, height, output (got {type(raw).__name__})")
    try:
        bind = Binding.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise WorkflowError(f"bind file {bind_path}: {_loc(err['loc'])}: {err['msg']}") from None

    for key_path, target in bind.targets():
        node = graph.get(target.node)
        if node is None:
            raise WorkflowError(f"bind file {bind_path}: {key_path} names node "
                                f"{target.node}, which is not in the workflow")
        if target.input not in node["inputs"]:
            raise WorkflowError(f"bind file {bind_path}: {key_path} names input "
                                f"'{target.input}' of node {target.node} "
                                f"({node['class_type']}), which has no such input")
        if isinstance(node["inputs"][target.input], list):
            # Overwriting a link with a literal would silently cut the graph.
            raise WorkflowError(f"bind file {bind_path}: {key_path} names input "
                                f"'{target.input}' of node {target.node}, which is a link "
                                f"to another node; bind a literal input instead")
    if bind.output.node not in graph:
        raise WorkflowError(f"bind file {bind_path}: output names node {bind.output.node}, "
                            f"which is not in the workflow")
    return bind


def load_workflow(path: Path) -> Workflow:
    """Read `X.json` (API format) and `X.bind.yaml` beside it; raise WorkflowError if invalid."""
    path = Path(path)
    graph = _load_graph(path)
    bind = _load_binding(bind_path_for(path), graph)
    log.debug("loaded workflow %s (output node %s)", path, bind.output.node)
    return Workflow(name=path.stem, path=path, graph=graph, bind=bind)
