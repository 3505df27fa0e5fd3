"""Bench results as small JSON files, so `bench/run_all.py` can put every script's headline into one table.

A bench script ends with one call per figure it owns, e.g.::

    from results import record
    record("P4", title="Peak RSS, 1k -> 100k images", result="62 MB at 100k (+2 % vs 1k)",
           target="<= 150 MB, <= +10 %", met=True, table=markdown_text)

and `run_all.py` reads ``bench/out/results/P4.json`` after running the script. A script that records nothing
still has its printed output shown in full by `run_all.py`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "out" / "results"


def record(
    result_id: str,
    *,
    title: str,
    result: str,
    target: str = "",
    met: bool | None = None,
    table: str = "",
    figures: dict[str, Any] | None = None,
) -> Path:
    """Save one headline: ``result`` (tfodkit's figure and the comparison), the ``target``, whether it is ``met``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{result_id}.json"
    data = {
        "id": result_id,
        "title": title,
        "result": result,
        "target": target,
        "met": met,
        "table": table,
        "figures": figures or {},
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def load(result_id: str) -> dict[str, Any] | None:
    path = RESULTS / f"{result_id}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def clear(result_id: str) -> None:
    (RESULTS / f"{result_id}.json").unlink(missing_ok=True)
