"""Test that the community package depends on the standard library only."""

import ast
from pathlib import Path
import sys

import pytest

import custom_components.smart_community.community as community_package

PACKAGE_DIR = Path(community_package.__file__).parent


@pytest.mark.parametrize(
    "path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda path: path.name
)
def test_only_standard_library_imports(path: Path) -> None:
    """Import nothing but the standard library and sibling modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.partition(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots = [node.module.partition(".")[0]]
        else:
            continue
        for root in roots:
            assert root in sys.stdlib_module_names, f"{path.name} imports {root}"
