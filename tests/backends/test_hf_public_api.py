"""The in-process backend and `bench` use no private attribute of another library.

Private attributes (transformers' `AttentionInterface._global_mapping`, a config's
`_attn_implementation`) change without notice between minor versions; only the
objects' own code (`self._...`) and torch's documented `torch._dynamo` helpers may
start with an underscore.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = [
    *sorted((ROOT / "bot" / "backends" / "hf").rglob("*.py")),
    *sorted((ROOT / "bot" / "commands" / "bench").rglob("*.py")),
]
ALLOWED = {"_dynamo"}  # torch._dynamo.mark_static_address / mark_dynamic / utils.counters


def private_attributes(path: Path, root: Path = ROOT) -> list[str]:
    """`owner._name` reads and writes whose owner is not `self` or `cls`, in line order."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or name.startswith("__") or name in ALLOWED:
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
            continue
        found.append((node.lineno, f"{path.relative_to(root)}:{node.lineno}: .{name}"))
    return [text for _, text in sorted(found)]


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_attribute_of_another_object(path: Path) -> None:
    assert private_attributes(path) == []


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from transformers import AttentionInterface\n"
        "AttentionInterface._global_mapping['x'] = f\n"
        "config._attn_implementation = 'sdpa'\n"
        "self._ok = torch._dynamo\n",
        encoding="utf-8",
    )
    assert private_attributes(probe, root=tmp_path) == [
        "probe.py:2: ._global_mapping",
        "probe.py:3: ._attn_implementation",
    ]
