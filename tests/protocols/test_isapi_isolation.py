"""Test that the protocol package never imports Home Assistant."""

import ast
from pathlib import Path

import pytest

import custom_components.smart_community.protocols as protocols_package

PACKAGE_DIR = Path(protocols_package.__file__).parent


@pytest.mark.parametrize(
    "path",
    sorted(PACKAGE_DIR.rglob("*.py")),
    ids=lambda path: str(path.relative_to(PACKAGE_DIR)),
)
def test_no_home_assistant_imports(path: Path) -> None:
    """Import neither homeassistant nor the integration's HA-facing modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            assert name.partition(".")[0] != "homeassistant", (
                f"{path.name} imports {name}"
            )
            assert not name.startswith("custom_components"), (
                f"{path.name} imports {name}"
            )
