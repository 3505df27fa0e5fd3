"""Dataset comparison for the plugin tests: the checks Datumaro's own format tests make (categories, subsets,
items by id and subset, item attributes, annotations as multisets, images when asked)."""

from __future__ import annotations

from typing import Any

import pytest

# Datumaro lives only in .venv-datumaro (`make datumaro-test`); elsewhere (a doctest run over tests/) this is skipped
pytest.importorskip("datumaro.components")

from datumaro.components.annotation import AnnotationType  # noqa: E402
from datumaro.components.dataset import Dataset  # noqa: E402
from datumaro.components.media import Image  # noqa: E402


def assert_same_datasets(expected: Any, actual: Any, *, require_media: bool = False) -> None:
    expected_labels = expected.categories().get(AnnotationType.label)
    actual_labels = actual.categories().get(AnnotationType.label)
    if expected_labels is not None:
        assert actual_labels is not None and expected_labels.items == actual_labels.items
    assert sorted(expected.subsets()) == sorted(actual.subsets())
    assert len(expected) == len(actual)
    for item in expected:
        other = actual.get(item.id, item.subset)
        assert other is not None, (item.id, item.subset)
        assert item.attributes == other.attributes, item.id
        if require_media and item.media is not None and other.media is not None:
            assert isinstance(other.media, Image) and item.media == other.media, item.id
        remaining = list(other.annotations)
        assert len(item.annotations) == len(remaining), (item.id, item.annotations, remaining)
        for annotation in item.annotations:
            match = next((candidate for candidate in remaining if candidate == annotation), None)
            assert match is not None, (item.id, annotation, remaining)
            remaining.remove(match)


def save_and_load(
    source: Dataset, folder: str, *, target: Dataset | None = None, require_media: bool = False, **options: Any
) -> Dataset:
    """Export ``source`` with the plugin into ``folder``, import it back and compare with ``target``."""
    source.export(folder, "tf_detection_api", **options)
    parsed = Dataset.import_from(folder, "tf_detection_api")
    assert_same_datasets(target if target is not None else source, parsed, require_media=require_media)
    return parsed
