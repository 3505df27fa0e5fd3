"""The ``index.html`` of ``tfod preview``: a self-contained gallery of thumbnails with per-image object lists
and label filters.

One file, inline CSS and JavaScript, no network, no server: images are relative links into the preview
folder (``thumbs/``, ``images/``), so the page works from ``file://`` and the folder can be zipped or
moved as a whole. The filter shows an image when it has at least one object of a checked label ("(no
objects)" stands for images without objects) and belongs to the chosen subset.

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "index.html")
    >>> entry = {"name": "a.jpg", "subset": "train", "image": "images/a.png", "thumbnail": "thumbs/a.jpg",
    ...          "width": 4, "height": 3, "objects": [{"label": "cat", "box": [0, 0, 2, 2], "mask": False}],
    ...          "has_image": True}
    >>> write_gallery(path, [entry], {"cat": (31, 119, 180)}, title="demo")
    >>> 'data-labels="[&quot;cat&quot;]"' in open(path, encoding="utf-8").read()
    True
"""

from __future__ import annotations

import html
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

NO_OBJECTS = "(no objects)"
EAGER_IMAGES = 60  # thumbnails after these load lazily (long galleries)

_STYLE = """
:root { color-scheme: light; --ink: #1d232a; --muted: #5b6570; --line: #d8dde3; --card: #fff; --page: #f2f4f7; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: var(--ink); background: var(--page); }
header { position: sticky; top: 0; z-index: 1; background: var(--card); border-bottom: 1px solid var(--line);
         padding: 12px 20px; }
h1 { font-size: 18px; margin: 0 0 4px; }
.summary { color: var(--muted); margin: 0 0 8px; }
.filters { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; }
.filters label { display: inline-flex; align-items: center; gap: 5px; cursor: pointer; white-space: nowrap; }
.filters button, .filters select { font: inherit; padding: 2px 10px; border: 1px solid var(--line); border-radius: 4px;
                                   background: #f7f8fa; cursor: pointer; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; border: 1px solid rgba(0,0,0,.25);
          flex: none; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 14px; padding: 16px 20px; }
figure.card { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
figure.card[hidden] { display: none; }
figure.card img { display: block; width: 100%; height: 200px; object-fit: contain; background: #20242a; }
figcaption { padding: 8px 10px; }
.name { font-weight: 600; overflow-wrap: anywhere; }
.meta { color: var(--muted); font-size: 12px; }
ul.objects { list-style: none; margin: 6px 0 0; padding: 0; max-height: 140px; overflow: auto; font-size: 12px; }
ul.objects li { display: flex; gap: 6px; align-items: center; }
ul.objects .box { color: var(--muted); font-variant-numeric: tabular-nums; }
.noimage { color: #a33; font-size: 12px; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var cards = Array.prototype.slice.call(document.querySelectorAll("figure.card"));
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input.label-filter"));
  var subsetSelect = document.getElementById("subset-filter");
  var shown = document.getElementById("shown");
  var labelsOf = cards.map(function (card) { return JSON.parse(card.getAttribute("data-labels")); });
  function apply() {
    var checked = {};
    boxes.forEach(function (box) { if (box.checked) { checked[box.value] = true; } });
    var subset = subsetSelect ? subsetSelect.value : "";
    var count = 0;
    cards.forEach(function (card, index) {
      var labels = labelsOf[index];
      var visible = labels.length === 0 ? !!checked[%(no_objects)s]
                                        : labels.some(function (label) { return !!checked[label]; });
      if (subset && card.getAttribute("data-subset") !== subset) { visible = false; }
      card.hidden = !visible;
      if (visible) { count += 1; }
    });
    shown.textContent = String(count);
  }
  boxes.forEach(function (box) { box.addEventListener("change", apply); });
  if (subsetSelect) { subsetSelect.addEventListener("change", apply); }
  function checkAll(checked) { boxes.forEach(function (box) { box.checked = checked; }); apply(); }
  document.getElementById("check-all").addEventListener("click", function () { checkAll(true); });
  document.getElementById("check-none").addEventListener("click", function () { checkAll(false); });
  apply();
})();
"""


def _rgb(color: Sequence[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color[:3])


def _attribute(value: Any) -> str:
    return html.escape(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False), quote=True)


def render_gallery(entries: Sequence[Mapping[str, Any]], legend: Mapping[str, Sequence[int]], *, title: str) -> str:
    """The gallery page for ``entries`` (name, subset, image, thumbnail, width, height, objects, has_image)."""
    label_counts: Counter[str] = Counter()
    empty = 0
    for entry in entries:
        present = {obj["label"] for obj in entry["objects"]}
        label_counts.update(present)
        empty += not present
    subsets = sorted({entry["subset"] for entry in entries})
    objects = sum(len(entry["objects"]) for entry in entries)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<header>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="summary">{len(entries)} images, {objects} objects, {len(legend)} labels — showing '
        f'<span id="shown">{len(entries)}</span></p>',
        '<div class="filters" role="group" aria-label="Filter by label">',
        '<button type="button" id="check-all">all</button><button type="button" id="check-none">none</button>',
    ]
    for name, color in legend.items():
        parts.append(
            f'<label><input type="checkbox" class="label-filter" value="{_attribute(name)}" checked>'
            f'<span class="swatch" style="background:{_rgb(color)}"></span>{html.escape(name)} '
            f"({label_counts.get(name, 0)})</label>"
        )
    if empty:
        parts.append(
            f'<label><input type="checkbox" class="label-filter" value="{_attribute(NO_OBJECTS)}" checked>'
            f"{html.escape(NO_OBJECTS)} ({empty})</label>"
        )
    if len(subsets) > 1:
        options = "".join(f'<option value="{_attribute(subset)}">{html.escape(subset)}</option>' for subset in subsets)
        parts.append(
            f'<label>subset <select id="subset-filter"><option value="">all</option>{options}</select></label>'
        )
    parts.append("</div></header><main>")
    for number, entry in enumerate(entries):
        names = sorted({obj["label"] for obj in entry["objects"]})
        loading = "eager" if number < EAGER_IMAGES else "lazy"
        items = "".join(
            f'<li><span class="swatch" style="background:{_rgb(legend.get(obj["label"], (255, 255, 255)))}"></span>'
            f"{html.escape(obj['label'])}{' (mask)' if obj.get('mask') else ''} "
            f'<span class="box">[{", ".join(f"{value:g}" for value in obj["box"])}]</span></li>'
            for obj in entry["objects"]
        )
        note = (
            "" if entry.get("has_image", True) else '<div class="noimage">no image bytes: boxes on a blank canvas</div>'
        )
        parts.append(
            f'<figure class="card" data-labels="{_attribute(names)}" data-subset="{_attribute(entry["subset"])}">'
            f'<a href="{_attribute(entry["image"])}"><img src="{_attribute(entry["thumbnail"])}" '
            f'alt="{_attribute(entry["name"])}" loading="{loading}"></a>'
            f'<figcaption><div class="name">{html.escape(entry["name"])}</div>'
            f'<div class="meta">{html.escape(entry["subset"])} · {entry["width"]}×{entry["height"]} · '
            f'{len(entry["objects"])} objects</div>{note}<ul class="objects">{items}</ul></figcaption></figure>'
        )
    parts.append("</main>")
    parts.append(f"<script>{_SCRIPT % {'no_objects': json.dumps(NO_OBJECTS)}}</script>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_gallery(
    path: str | os.PathLike[str],
    entries: Sequence[Mapping[str, Any]],
    legend: Mapping[str, Sequence[int]],
    *,
    title: str,
) -> None:
    """Write :func:`render_gallery`'s page to ``path`` (UTF-8)."""
    with open(path, "w", encoding="utf-8") as out:
        out.write(render_gallery(entries, legend, title=title))
