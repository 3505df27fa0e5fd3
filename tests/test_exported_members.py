"""The public API is one list: ``tfodkit.__all__`` = the TYPE_CHECKING imports = the README's "Public names"."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import tfodkit

ROOT = Path(__file__).resolve().parents[1]
INIT = ROOT / "src" / "tfodkit" / "__init__.py"
README = ROOT / "README.md"


def _type_checking_imports() -> list[ast.alias]:
    """What the ``if TYPE_CHECKING:`` block of ``tfodkit/__init__.py`` imports."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    blocks = [
        node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
    ]
    assert len(blocks) == 1, "expected one `if TYPE_CHECKING:` block"
    return [alias for node in ast.walk(blocks[0]) if isinstance(node, ast.ImportFrom) for alias in node.names]


def _type_checking_names() -> set[str]:
    """Names the ``if TYPE_CHECKING:`` block of ``tfodkit/__init__.py`` imports."""
    return {alias.asname or alias.name for alias in _type_checking_imports()}


def _readme_public_names() -> set[str]:
    """The backquoted names of the README's "Public names" list (in its Python API section)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    listing = section.split("Public names", 1)[1].split("\n\n", 2)[1]
    return set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", listing))


def test_every_name_in_all_is_importable_and_public() -> None:
    for name in tfodkit.__all__:
        assert not name.startswith("_") or name == "__version__", f"private name {name!r} in tfodkit.__all__"
        member = getattr(tfodkit, name)
        module = getattr(member, "__module__", None)
        if module is not None:  # defined in tfodkit, and re-exported from a public place
            assert module.startswith("tfodkit"), (name, module)


def test_all_has_no_duplicates_and_dir_agrees() -> None:
    assert len(tfodkit.__all__) == len(set(tfodkit.__all__))
    assert dir(tfodkit) == sorted(tfodkit.__all__)


def test_lazy_exports_point_at_the_defining_module() -> None:
    # a name taken from a module that merely imports it would survive a move only by accident (a package
    # re-exporting its own submodules, as tfodkit.inspection does, is fine)
    for name, module_name in tfodkit._EXPORTS.items():
        member = getattr(importlib.import_module(module_name), name)
        defined_in = getattr(member, "__module__", None) or module_name
        assert defined_in == module_name or defined_in.startswith(module_name + "."), (name, module_name, defined_in)


def test_type_checking_block_lists_the_same_names_as_all() -> None:
    eager = _type_checking_names()
    lazy = set(tfodkit._EXPORTS)
    assert eager == lazy, f"only in TYPE_CHECKING: {sorted(eager - lazy)}; only in _EXPORTS: {sorted(lazy - eager)}"


def test_type_checking_imports_are_explicit_re_exports() -> None:
    # `from m import name as name` is how linters and type checkers tell a re-export from an unused import
    plain = [alias.name for alias in _type_checking_imports() if alias.asname != alias.name]
    assert not plain, f"write these as `name as name`: {plain}"


def test_readme_documents_exactly_the_public_api() -> None:
    documented = _readme_public_names()
    public = set(tfodkit.__all__)
    assert documented == public, (
        f"in the README only: {sorted(documented - public)}; undocumented: {sorted(public - documented)}"
    )


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        tfodkit.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("tfodkit.no_such_name did not raise")
