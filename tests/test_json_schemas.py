"""Every command's JSON validates against the JSON Schema file shipped for it
(convcalc/schemas/, linked from docs/cli.md).

The validator is the small part of JSON Schema the files use (type, const, enum,
required, properties, additionalProperties, items, minItems, maxItems and $ref), written
here so that the suite needs no package the product does not; it fails on any keyword it
does not know, so a schema cannot use one it would silently skip.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import convcalc
from convcalc.cli import app

SCHEMAS = Path(convcalc.__file__).resolve().parent / "schemas"
IGNORED = {"$schema", "$id", "title", "description", "$defs"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text())


def resolve(ref: str, base: str) -> tuple[dict[str, Any], str]:
    file, _, pointer = ref.partition("#")
    file = file or base
    node: Any = load(file)
    for part in filter(None, pointer.split("/")):
        node = node[part]
    return node, file


def check(value: Any, schema: dict[str, Any], base: str, where: str = "$") -> list[str]:
    """The places where ``value`` breaks ``schema`` (empty when it validates)."""
    errors: list[str] = []
    for key in schema:
        if key not in IGNORED | {
            "type", "const", "enum", "required", "properties", "additionalProperties",
            "items", "minItems", "maxItems", "$ref",
        }:  # fmt: skip
            raise AssertionError(f"{base}: the test's validator does not know {key!r}")
    if "$ref" in schema:
        target, file = resolve(schema["$ref"], base)
        errors += check(value, target, file, where)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[t](value) for t in types):
            return [f"{where}: {type(value).__name__} is not {types}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{where}: {key!r} is missing")
        props = schema.get("properties", {})
        for key, item in value.items():
            if key in props:
                errors += check(item, props[key], base, f"{where}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += check(item, schema["additionalProperties"], base, f"{where}.{key}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{where}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += check(item, schema["items"], base, f"{where}[{i}]")
    return errors


CASES = [
    ("analysis.json", ["analyze", "mobilenet_v2"]),
    ("analysis.json", ["analyze", "xception"]),  # with warnings as diagnostics
    ("analysis.json", ["analyze", "resnet50", "--device", "gpu-t4"]),
    ("analysis.json", ["analyze", "blocks/conv_depthwise_separable", "--symbolic"]),
    ("analysis.json", ["analyze", "resnet18", "--batch", "4", "--train", "--checkpoint", "2"]),
    ("analysis.json", ["analyze", "resnet18", "--train", "--device", "gpu-v100", "--max-batch"]),
    ("comparison.json", ["compare", "vgg16", "mobilenet"]),
    ("comparison.json", ["compare", "blocks/conv_standard", "blocks/conv_depthwise_separable"]),
    ("validation.json", ["validate", "blocks/hdc_2_2_2"]),
    ("validation.json", ["validate", "resnet5O"]),  # an error is a diagnostic too
    ("sweep.json", ["sweep", "mobilenet", "--alpha", "0.5,1"]),
    ("explanations.json", ["explain", "resnet18", "layer1.0.conv1"]),
    ("architectures.json", ["list"]),
    ("kinds.json", ["layers"]),
    ("devices.json", ["devices"]),
]


@pytest.mark.parametrize(("schema", "argv"), CASES, ids=[" ".join(a) for _, a in CASES])
def test_command_json_matches_its_schema_file(schema: str, argv: list[str]) -> None:
    result = CliRunner().invoke(app, [*argv, "-f", "json"])
    doc = json.loads(result.stdout)
    assert check(doc, load(schema), schema) == []


def test_the_validator_refuses_what_breaks_a_schema() -> None:
    doc = json.loads(CliRunner().invoke(app, ["analyze", "lenet5", "-f", "json"]).stdout)
    broken = {**doc, "totals": {**doc["totals"], "params": True}}
    assert check(broken, load("analysis.json"), "analysis.json")
    del broken["layers"]
    assert any("'layers' is missing" in e for e in check(broken, load("analysis.json"), "x"))


def test_every_schema_file_is_used_and_names_its_document() -> None:
    used = {schema for schema, _ in CASES}
    assert used == {p.name for p in SCHEMAS.glob("*.json")}
    for name in used:
        schema = load(name)
        if schema["type"] == "object":
            assert schema["properties"]["schema"]["const"] == schema["$id"]
