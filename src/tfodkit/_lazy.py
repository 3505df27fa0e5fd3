"""A module imported on first use, for names that a cheap command's start-up must not pay for.

``tfod --help`` and ``tfod info small.tfrecord`` need no numpy, but the modules they import (the data model,
the partial decoder) use it in their functions. Such a module binds its ``np`` to a :class:`LazyModule`; the
first attribute looked up through it imports numpy and puts the real module in the proxy's place, so later
calls cost what a plain global costs.

Example:
    >>> namespace: dict = {}
    >>> namespace["json"] = LazyModule("json", namespace, "json")
    >>> namespace["json"].dumps([1])
    '[1]'
    >>> type(namespace["json"]).__name__  # replaced by the module itself
    'module'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for module ``name`` bound to ``namespace[alias]`` (a module's ``globals()``) until first used."""

    def __init__(
        self,
        name: str,
        namespace: dict[str, Any],
        alias: str,
        on_load: Callable[[ModuleType], None] | None = None,
    ) -> None:
        self._name = name
        self._namespace = namespace
        self._alias = alias
        self._on_load = on_load  # e.g. to make constants that need the module (a numpy dtype)

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self._name)
        if self._namespace.get(self._alias) is self:
            self._namespace[self._alias] = module  # later look-ups go straight to the module
            if self._on_load is not None:
                self._on_load(module)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def lazy_exports(package: str, exports: dict[str, str], namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A package's module ``__getattr__`` (PEP 562) that imports ``exports[name]`` (a module) on first use of
    ``name``; a package re-exports its public names this way so that importing one submodule stays cheap.

    Example:
        >>> namespace: dict = {}
        >>> getattr_ = lazy_exports("example", {"dumps": "json"}, namespace)
        >>> getattr_("dumps")([2]), "dumps" in namespace
        ('[2]', True)
    """

    def __getattr__(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name), name)
        namespace[name] = value  # later look-ups skip this function
        return value

    return __getattr__
