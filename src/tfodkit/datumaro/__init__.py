"""Datumaro's ``tf_detection_api`` format without TensorFlow: ``import tfodkit.datumaro`` registers it.

Datumaro 1.x registers its own ``tf_detection_api`` plugins only when TensorFlow is installed (their spec lists
``extra_deps: ["tensorflow"]``). Importing this package registers tfodkit's importer, reader and exporter under
that name — in Datumaro's ``DEFAULT_ENVIRONMENT`` and in every ``Environment()`` built afterwards — as lazy
plugin entries, the way Datumaro loads its built-in formats (plain classes would break its auto-detection).
With TensorFlow installed as well, tfodkit's entries replace Datumaro's own under the same name.

Example (with Datumaro installed):
    >>> import tfodkit.datumaro  # doctest: +SKIP
    >>> from datumaro.components.dataset import Dataset  # doctest: +SKIP
    >>> dataset = Dataset.import_from("records/", "tf_detection_api")  # doctest: +SKIP
    >>> dataset.export("copy/", "tf_detection_api", save_media=True)  # doctest: +SKIP

``python -m tfodkit.datumaro ARGS…`` runs Datumaro's ``datum`` command with the format registered.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from datumaro.components import environment as _environment
from datumaro.components.lazy_plugin import get_lazy_plugin
from datumaro.plugins import specs as _specs

from tfodkit.datumaro.format import FORMAT_NAME, RECORD_EXTENSION

__all__ = ["FORMAT_NAME", "lazy_plugins", "register"]

# (import path, Datumaro plugin type, metadata) of tfodkit's three plugins; classes load on first use
_SPECS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("tfodkit.datumaro.base.TfDetectionApiBase", "DatasetBase", {}),
    ("tfodkit.datumaro.base.TfDetectionApiImporter", "Importer", {"file_extensions": [RECORD_EXTENSION]}),
    ("tfodkit.datumaro.exporter.TfDetectionApiExporter", "Exporter", {}),
)
_PATCHED = "__tfodkit_datumaro__"  # marks the wrapped loader, so a second register() does not wrap it again


def lazy_plugins() -> list[Any]:
    """Datumaro lazy plugin entries for tfodkit's ``tf_detection_api`` (reader, importer, exporter)."""
    plugins = [get_lazy_plugin(path, FORMAT_NAME, kind, [], metadata) for path, kind, metadata in _SPECS]
    return [plugin for plugin in plugins if plugin is not None]


def _is_ours(plugin: Any) -> bool:
    return getattr(plugin, _PATCHED, False)


def _with_ours(plugins: list[Any]) -> list[Any]:
    """``plugins`` without any other ``tf_detection_api`` entry, plus tfodkit's (once)."""
    kept = [p for p in plugins if _is_ours(p) or getattr(p, "NAME", None) != FORMAT_NAME]
    if any(_is_ours(p) for p in kept):
        return kept
    ours = lazy_plugins()
    for plugin in ours:
        setattr(plugin, _PATCHED, True)
    return kept + ours


def _wrap(loader: Callable[[], list[Any]]) -> Callable[[], list[Any]]:
    @functools.wraps(loader)
    def get_lazy_plugins() -> list[Any]:
        return _with_ours(loader())

    setattr(get_lazy_plugins, _PATCHED, True)
    return get_lazy_plugins


def register() -> None:
    """Register tfodkit's ``tf_detection_api``; idempotent (importing this package calls it).

    Environments load the built-in lazy plugins through ``datumaro.plugins.specs.get_lazy_plugins`` once per
    process and cache the list on the class: both the loader and a list already cached get tfodkit's entries,
    and ``DEFAULT_ENVIRONMENT``, when it has already registered the built-ins, gets them directly.
    """
    if not getattr(_specs.get_lazy_plugins, _PATCHED, False):
        _specs.get_lazy_plugins = _wrap(_specs.get_lazy_plugins)
    environment_cls = _environment.Environment
    if environment_cls._builtin_plugins is not None:
        environment_cls._builtin_plugins = _with_ours(list(environment_cls._builtin_plugins))
    default = _environment.DEFAULT_ENVIRONMENT
    if default._builtins_initialized and not _is_ours(default._importers._items.get(FORMAT_NAME)):
        _register_into(default)


def _register_into(env: Any) -> None:
    cached = _environment.Environment._builtin_plugins or []
    plugins = [p for p in cached if _is_ours(p)] or _with_ours([])
    # a built-in tf_detection_api importer (TensorFlow installed) must not stay in the extension index
    groups = env._importers.extension_groups
    for extension, entries in groups.items():
        groups[extension] = [entry for entry in entries if entry[0] != FORMAT_NAME]
    env.register_plugins(plugins)


register()
