"""A CycloneDX 1.5 SBOM of what the container image ships, read from the lock files.

    python tools/sbom.py [--output build/sbom.cdx.json]

Components: every Python package pinned in requirements.runtime.lock (what deploy/Dockerfile
installs) and every npm package the web client bundles (web/package-lock.json entries that
are not dev-only). No network: versions and hashes come from the lock files alone.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import tomllib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def python_components(lock: Path) -> list[dict[str, Any]]:
    components = []
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if not match:
            continue
        name, version = match.group(1).lower(), match.group(2)
        components.append(
            {
                "type": "library",
                "bom-ref": f"pkg:pypi/{name}@{version}",
                "name": name,
                "version": version,
                "purl": f"pkg:pypi/{name}@{version}",
            }
        )
    return components


def npm_components(lock: Path) -> list[dict[str, Any]]:
    packages: dict[str, Any] = json.loads(lock.read_text())["packages"]
    components = []
    for path, entry in sorted(packages.items()):
        if not path or entry.get("dev") or "version" not in entry:
            continue
        name = path.rsplit("node_modules/", 1)[-1]
        scope, _, short = name.rpartition("/")  # "@mapbox/vector-tile" -> scope "@mapbox"
        coordinates = f"{quote(scope)}/{short}" if scope else short
        purl = f"pkg:npm/{coordinates}@{entry['version']}"
        component: dict[str, Any] = {
            "type": "library",
            "bom-ref": f"{purl}#{path}",
            "name": name,
            "version": entry["version"],
            "purl": purl,
        }
        integrity = entry.get("integrity", "")
        if integrity.startswith("sha512-"):
            digest = base64.b64decode(integrity.removeprefix("sha512-")).hex()
            component["hashes"] = [{"alg": "SHA-512", "content": digest}]
        if entry.get("license"):
            component["licenses"] = [{"expression": entry["license"]}]
        components.append(component)
    return components


def sbom(root: Path = ROOT) -> dict[str, Any]:
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "component": {
                "type": "application",
                "bom-ref": "spatialviz",
                "name": project["name"],
                "version": project["version"],
            },
        },
        "components": python_components(root / "requirements.runtime.lock")
        + npm_components(root / "web" / "package-lock.json"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=None, help="default: stdout")
    args = parser.parse_args()
    text = json.dumps(sbom(), indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
        return
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
