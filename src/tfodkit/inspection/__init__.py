"""Looking inside datasets: ``info``, ``stats``, ``validate``, ``preview`` (with its HTML gallery), ``diff``
and ``repair`` — one module each, all streaming.

Example:
    >>> import tempfile, os
    >>> from tfodkit.formats import tfod
    >>> from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
    >>> path = os.path.join(tempfile.mkdtemp(), "train.tfrecord")
    >>> items = [Item("a", ImageRef("a.jpg", width=8, height=8), Objects.from_boxes([[0, 0, 4, 4]], [1]))]
    >>> tfod.write(Dataset(items, LabelMap.from_names(["cat"])), path, save_images=False)
    >>> from tfodkit.inspection import compute_stats, dataset_info
    >>> from tfodkit.inspection.validate import validate
    >>> validate(path).counts, compute_stats(path).objects, dataset_info(path).records
    ({'image_missing': 1}, 1, 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tfodkit._lazy import lazy_exports

# name -> submodule defining it, imported on first use: `tfod info` imports tfodkit.inspection.info, which runs this
# file, and must not pay for diff's or validate's imports (numpy, PIL). diff, preview, repair and validate are not
# here: each has a submodule of its name, which would shadow it once imported; import them from their modules.
_EXPORTS: dict[str, str] = {
    "CHECKS": "tfodkit.inspection.validate",
    "DamagedRange": "tfodkit.inspection.scan",
    "DiffReport": "tfodkit.inspection.diff",
    "Finding": "tfodkit.inspection.validate",
    "InfoReport": "tfodkit.inspection.info",
    "IntactRecord": "tfodkit.inspection.scan",
    "PreviewReport": "tfodkit.inspection.preview",
    "RepairReport": "tfodkit.inspection.repair",
    "StatsReport": "tfodkit.inspection.stats",
    "ValidationReport": "tfodkit.inspection.validate",
    "compute_stats": "tfodkit.inspection.stats",
    "dataset_info": "tfodkit.inspection.info",
    "diff_datasets": "tfodkit.inspection.diff",
    "scan_records": "tfodkit.inspection.scan",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from tfodkit.inspection.diff import DiffReport as DiffReport
    from tfodkit.inspection.diff import diff_datasets as diff_datasets
    from tfodkit.inspection.info import InfoReport as InfoReport
    from tfodkit.inspection.info import dataset_info as dataset_info
    from tfodkit.inspection.preview import PreviewReport as PreviewReport
    from tfodkit.inspection.repair import RepairReport as RepairReport
    from tfodkit.inspection.scan import DamagedRange as DamagedRange
    from tfodkit.inspection.scan import IntactRecord as IntactRecord
    from tfodkit.inspection.scan import scan_records as scan_records
    from tfodkit.inspection.stats import StatsReport as StatsReport
    from tfodkit.inspection.stats import compute_stats as compute_stats
    from tfodkit.inspection.validate import CHECKS as CHECKS
    from tfodkit.inspection.validate import Finding as Finding
    from tfodkit.inspection.validate import ValidationReport as ValidationReport
