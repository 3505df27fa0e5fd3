"""Looking inside datasets: ``info``, ``stats``, ``validate``, ``preview`` (with its HTML gallery), ``diff``
and ``repair`` — one module each, all streaming.

Example:
    >>> import tempfile, os
    >>> from tfodkit.formats import tfod
    >>> from tfodkit.model import Dataset, ImageRef, Item, LabelMap, Objects
    >>> path = os.path.join(tempfile.mkdtemp(), "train.tfrecord")
    >>> items = [Item("a", ImageRef("a.jpg", width=8, height=8), Objects.from_boxes([[0, 0, 4, 4]], [1]))]
    >>> tfod.write(Dataset(items, LabelMap.from_names(["cat"])), path, save_images=False)
    >>> validate(path).counts, compute_stats(path).objects, dataset_info(path).records
    ({'image_missing': 1}, 1, 1)
"""

from tfodkit.inspection.diff import DiffReport, diff, diff_datasets
from tfodkit.inspection.info import InfoReport, dataset_info
from tfodkit.inspection.preview import PreviewReport, preview
from tfodkit.inspection.repair import RepairReport, repair
from tfodkit.inspection.scan import DamagedRange, IntactRecord, scan_records
from tfodkit.inspection.stats import StatsReport, compute_stats
from tfodkit.inspection.validate import CHECKS, Finding, ValidationReport, validate

__all__ = [
    "CHECKS",
    "DamagedRange",
    "DiffReport",
    "Finding",
    "InfoReport",
    "IntactRecord",
    "PreviewReport",
    "RepairReport",
    "StatsReport",
    "ValidationReport",
    "compute_stats",
    "dataset_info",
    "diff",
    "diff_datasets",
    "preview",
    "repair",
    "scan_records",
    "validate",
]
