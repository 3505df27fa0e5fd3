"""The README's Python example runs as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_python_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "the README has no Python example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        if "tfodkit.datumaro" in block:
            continue  # needs Datumaro: tests/datumaro/test_plugin.py runs it in .venv-datumaro
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split() == ["6", "16"]  # items, objects written (21 read, 5 polygons not exported)
    assert "image/filename" in printed
    assert os.path.exists("task.zip") and os.path.exists("out.tfrecord")
