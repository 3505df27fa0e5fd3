"""Progress bars: the library reports totals and steps; the CLI draws a bar only on a terminal, never with --json."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from _cli import run

from tfodkit import progress
from tfodkit.formats import tfod, voc
from tfodkit.index import write_index
from tfodkit.inspection.info import dataset_info
from tfodkit.inspection.preview import preview
from tfodkit.inspection.stats import compute_stats
from tfodkit.inspection.validate import validate
from tfodkit.model import Dataset
from tfodkit.pipeline import convert


class Recorder:
    def __init__(self) -> None:
        self.totals: list[int | None] = []
        self.done = 0

    def start(self, total: int | None) -> None:
        self.totals.append(total)

    def advance(self, count: int = 1) -> None:
        self.done += count


def _listen(function: Any, *args: Any, **kwargs: Any) -> Recorder:
    recorder = Recorder()
    with progress.listening(recorder):
        function(*args, **kwargs)
    return recorder


def test_inspect_runs_report_their_total_and_every_record(tmp_path: Path, dataset: Dataset) -> None:
    records = tmp_path / "train.tfrecord"
    tfod.write(dataset, str(records), save_images=True)
    count = len(list(dataset))
    for function in (validate, dataset_info, compute_stats):
        recorder = _listen(function, str(records))
        assert recorder.totals == [None] and recorder.done == count, function  # no index: the total is unknown
    write_index(str(records))
    for function in (validate, dataset_info, compute_stats):
        recorder = _listen(function, str(records))
        assert recorder.totals == [count] and recorder.done == count, function  # the .idx file tells it
    recorder = _listen(preview, str(records), str(tmp_path / "preview"), limit=2)
    assert recorder.done == 2


def test_item_inputs_take_the_total_from_the_reader(tmp_path: Path, dataset: Dataset) -> None:
    voc.write(dataset, str(tmp_path / "voc"), save_images=True)
    count = len(list(dataset))
    recorder = _listen(validate, str(tmp_path / "voc"), "voc")
    assert recorder.totals == [count] and recorder.done == count
    recorder = _listen(dataset_info, str(tmp_path / "voc"), "voc")
    assert recorder.totals == [count] and recorder.done == count


def test_conversion_tells_the_bar_its_total(tmp_path: Path, dataset: Dataset) -> None:
    records = tmp_path / "train.tfrecord"
    tfod.write(dataset, str(records), save_images=False)
    write_index(str(records))
    recorder = _listen(convert, str(records), str(tmp_path / "out.json"), to_format="coco")
    assert recorder.totals == [len(list(dataset))]
    assert _listen(progress.start, 3).totals == [3] and progress.total_of(None, str(records), "tfrecord") is None


def test_diff_counts_the_items_of_both_sides(tmp_path: Path, dataset: Dataset) -> None:
    from tfodkit.inspection.diff import diff

    records = tmp_path / "train.tfrecord"
    tfod.write(dataset, str(records), save_images=False)
    voc.write(dataset, str(tmp_path / "voc"))
    count = len(list(dataset))
    recorder = _listen(diff, str(records), str(tmp_path / "voc"), format_b="voc", compare_images=False)
    assert recorder.totals == [None] and recorder.done == 2 * count  # records without an index: total unknown
    write_index(str(records))
    recorder = _listen(diff, str(records), str(tmp_path / "voc"), format_b="voc", compare_images=False)
    assert recorder.totals == [2 * count] and recorder.done == 2 * count


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("command", ["validate", "info", "stats", "convert", "diff"])
def test_the_cli_draws_a_bar_only_on_a_terminal(
    tmp_path: Path, dataset: Dataset, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    records = tmp_path / "train.tfrecord"
    tfod.write(dataset, str(records), save_images=True)
    write_index(str(records))
    arguments = [command, str(records)]
    if command == "convert":
        arguments = [command, str(records), str(tmp_path / "o.json"), "--to", "coco"]
    if command == "diff":
        arguments = [command, str(records), str(records)]
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    drawn: list[str] = []
    import tfodkit.cli.progress as cli_progress

    original = cli_progress.progress_bar

    def spy(enabled: bool, description: str, unit: str = "records") -> Any:
        if cli_progress.wanted(enabled):
            drawn.append(description)
        return original(enabled, description, unit)

    monkeypatch.setattr(cli_progress, "progress_bar", spy)
    import tfodkit.cli.inspection  # `tfod` imports a command's module on first use; the spy goes in first

    monkeypatch.setattr(tfodkit.cli.inspection, "progress_bar", spy)
    assert run(*arguments) in (0, 1)
    assert drawn and (command != "convert" or drawn == ["tfrecord -> coco"])
    drawn.clear()
    run(*arguments, "--json")
    assert drawn == []  # --json: no bar
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    run(*arguments)
    assert drawn == []  # not a terminal: no bar
