"""The SBOM (tools/sbom.py, `make sbom`) is valid CycloneDX 1.5 and lists what the image
ships; the runtime lock the image installs agrees with the main lock and holds no test
tools."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", flags=re.MULTILINE)


def _sbom_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sbom", ROOT / "tools" / "sbom.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return {name.lower(): version for name, version in PIN.findall(text)}


def test_sbom_is_valid_cyclonedx_and_lists_the_image_contents() -> None:
    document = _sbom_tool().sbom(ROOT)
    errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(document))
    assert errors is None, errors
    purls = {component["purl"] for component in document["components"]}
    for name, version in _pins("requirements.runtime.lock").items():
        assert f"pkg:pypi/{name}@{version}" in purls
    three = json.loads((ROOT / "web" / "package-lock.json").read_text())["packages"][
        "node_modules/three"
    ]["version"]
    assert f"pkg:npm/three@{three}" in purls
    assert not any(p.startswith("pkg:pypi/pytest@") for p in purls)


def test_runtime_lock_matches_the_main_lock_and_has_no_test_tools() -> None:
    runtime, full = _pins("requirements.runtime.lock"), _pins("requirements.lock")
    assert runtime
    assert {name: full.get(name) for name in runtime} == runtime
    assert {"pytest", "mypy", "ruff", "moto", "playwright"}.isdisjoint(runtime)


def test_the_image_installs_the_runtime_lock_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "requirements.runtime.lock" in dockerfile
    assert re.search(r"^USER \d+", dockerfile, flags=re.MULTILINE)
    assert "npm ci" in dockerfile  # the web client is built inside the image build
