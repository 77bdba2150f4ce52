"""deploy/filebeat and deploy/elasticsearch, checked offline (no Elastic binary here): the
Filebeat config decodes our JSON lines into top-level fields and writes to a data stream our
index template matches, with the ILM policy it names; and the template maps every field the
code can log, no more (a key logged anywhere in src/ lands on a mapped field, and every
``spatialviz.*`` mapping is still logged somewhere), so code and template cannot drift.
tests/kit/test_log_fields.py checks the fields and values of real events against it."""

from __future__ import annotations

import ast
import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import yaml

from spatialviz.kit.logging import NAMESPACE, _stop_listener, field_path
from tests.deploy.log_template import TEMPLATE, mapped_fields, template

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ILM_POLICY = DEPLOY / "elasticsearch" / "ilm-policy.json"
FILEBEAT = DEPLOY / "filebeat" / "filebeat.yml"
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}
NOT_FIELDS = {"exc_info", "stack_info"}  # structlog turns these into error.* itself


def logged_keys() -> dict[str, str]:
    """Every keyword argument of a ``log.<level>(...)`` call or a bound context variable in
    src/, with the first place it is used."""
    # Python 3.11's AST builder is not thread-safe (CPython gh-106905) and the log listener
    # thread parses source too, rendering a traceback's carets: let it finish first.
    _stop_listener()
    found: dict[str, str] = {}
    for source in sorted((ROOT / "src" / "spatialviz").rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            is_log = node.func.attr in LOG_METHODS and _names_a_logger(node.func.value)
            if is_log or node.func.attr == "bind_contextvars":
                for keyword in node.keywords:
                    if keyword.arg is not None and keyword.arg not in NOT_FIELDS:
                        found.setdefault(keyword.arg, f"{source.name}:{node.lineno}")
    return found


def _names_a_logger(value: ast.expr) -> bool:
    return isinstance(value, ast.Name) and value.id in {"log", "logger"}


def test_every_key_logged_in_the_code_lands_on_a_mapped_field() -> None:
    mapped = mapped_fields()
    keys = logged_keys()
    assert {"job_id", "duration_ms", "status", "request_id"} <= set(keys)  # the scan works
    unmapped = {
        f"{key} ({where}) -> {'.'.join(field_path(key))}"
        for key, where in keys.items()
        if ".".join(field_path(key)) not in mapped
    }
    assert not unmapped, f"logged but not in {TEMPLATE.name}: {sorted(unmapped)}"


def test_every_custom_mapping_is_still_logged() -> None:
    produced = {".".join(field_path(key)) for key in logged_keys()}
    stale = {f for f in mapped_fields() if f.startswith(f"{NAMESPACE}.") and f not in produced}
    assert not stale, f"mapped in {TEMPLATE.name} but logged nowhere: {sorted(stale)}"


def test_template_is_a_data_stream_with_our_namespace_closed() -> None:
    body = template()
    assert body["index_patterns"] == ["spatialviz-*"]
    assert body["data_stream"] == {}
    # Above Elasticsearch's built-in templates (priority 100), so ours wins on overlap.
    assert body["priority"] > 100
    mappings = body["template"]["mappings"]
    # An unknown custom field is kept in _source but never grows the mapping.
    assert mappings["properties"][NAMESPACE]["dynamic"] is False
    assert mappings["properties"]["@timestamp"] == {"type": "date"}
    assert body["_meta"]["ecs_version"].startswith("8.")


def test_template_names_the_ilm_policy_that_rolls_over_and_deletes() -> None:
    settings = template()["template"]["settings"]
    policy = json.loads(ILM_POLICY.read_text())["policy"]["phases"]
    assert settings["index.lifecycle.name"] == "spatialviz-logs"
    assert "rollover" in policy["hot"]["actions"]
    assert "delete" in policy["delete"]["actions"]
    assert _days(policy["delete"]["min_age"]) > _days(policy["warm"]["min_age"])


def _days(age: str) -> int:
    match = re.fullmatch(r"(\d+)d", age)
    assert match, age
    return int(match.group(1))


def filebeat() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(FILEBEAT.read_text())
    return loaded


def test_filebeat_decodes_our_json_lines_into_top_level_fields() -> None:
    (stream,) = filebeat()["filebeat.inputs"]
    assert stream["type"] == "filestream"
    assert stream["id"]  # filestream keeps its offsets per id
    assert any(fnmatch.fnmatch("/var/log/containers/spatialviz-api-7f9_prod_api-1.log", p)
               for p in stream["paths"])  # fmt: skip
    container, ndjson = (next(iter(p.items())) for p in stream["parsers"])
    # The runtime's envelope is removed before the line is decoded, from both streams
    # (the app logs to stderr).
    assert container == ("container", {"stream": "all", "format": "auto"})
    assert ndjson[0] == "ndjson"
    assert ndjson[1]["target"] == ""
    assert ndjson[1]["overwrite_keys"] is True
    assert ndjson[1]["add_error_key"] is True


def test_filebeat_adds_where_a_line_came_from_and_keeps_only_ours() -> None:
    processors = [next(iter(p)) for p in filebeat()["processors"]]
    assert {"add_host_metadata", "add_kubernetes_metadata"} <= set(processors)
    assert processors[-1] == "drop_event"


def test_filebeat_writes_to_a_data_stream_our_template_matches() -> None:
    config = filebeat()
    output = config["output.elasticsearch"]
    data_stream = re.sub(r"%\{[^}]*\}", "production", output["index"])
    assert any(fnmatch.fnmatch(data_stream, p) for p in template()["index_patterns"])
    assert config["setup.template.json.enabled"] is True
    assert Path(config["setup.template.json.path"]).name == TEMPLATE.name
    assert config["setup.template.json.data_stream"] is True
    assert config["setup.template.pattern"] == template()["index_patterns"][0]
    assert (
        config["setup.ilm.policy_name"]
        == (template()["template"]["settings"]["index.lifecycle.name"])
    )
    assert Path(config["setup.ilm.policy_file"]).name == ILM_POLICY.name


def test_filebeat_takes_credentials_from_the_environment_only() -> None:
    output = filebeat()["output.elasticsearch"]
    assert re.fullmatch(r"\$\{[A-Z_]+\}", output["api_key"])
    assert all(re.fullmatch(r"\$\{[A-Z_]+\}", host) for host in output["hosts"])
    assert not {"password", "username"} & set(output)
