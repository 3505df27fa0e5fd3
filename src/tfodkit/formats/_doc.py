"""docs/formats.md, made from the format registry: ``python -m tfodkit.formats._doc > docs/formats.md``.

tests/test_options.py compares the file with :func:`formats_markdown`, so a declared option cannot go
undocumented.

Example:
    >>> "| `--year` | `year` |" in formats_markdown()
    True
"""

from __future__ import annotations

from tfodkit.formats import Option, format_names, get_format


def _value(option: Option) -> str:
    if option.type is bool:
        return "flag" + (f" (`--no-{option.flag[2:]}`)" if option.negatable else "")
    if option.choices:
        return " \\| ".join(f"`{choice}`" for choice in option.choices)
    kind = option.metavar or option.type.__name__
    return kind + (f", ≥ {option.minimum}" if option.minimum is not None else "")


def _table(options: tuple[Option, ...]) -> list[str]:
    rows = ["| flag | keyword | value | default | meaning |", "|---|---|---|---|---|"]
    for option in options:
        default = "" if option.default is None else f"`{option.default}`"
        rows.append(f"| `{option.flag}` | `{option.name}` | {_value(option)} | {default} | {option.help} |")
    return rows


def formats_markdown() -> str:
    """The text of docs/formats.md: every format's layout, and its read and write options with their flags."""
    lines = [
        "# Formats and their options",
        "",
        "Generated from the format registry (`python -m tfodkit.formats._doc > docs/formats.md`); each format",
        "declares its options in its module (`READ_OPTIONS`, `WRITE_OPTIONS` in `src/tfodkit/formats/`).",
        "",
        "The keyword goes in `tfodkit.convert(..., read_options={...}, write_options={...})` (or",
        "`read_dataset(path, format, keyword=...)`); the flag is the `tfod convert` / `export` / `import` /",
        "`transform` option. An option the chosen format does not declare is refused, naming the option and the",
        "format. A default in the table is what the reader or writer does when the option is not given.",
        "",
    ]
    workers = [f"`{name}`" for name in format_names() if get_format(name).uses_workers]
    lines += [
        f"`--workers N` (`convert(..., workers=N)`) is used by the {' and '.join(workers)} writers, which encode",
        "items in N processes; the other writers work in one process.",
        "",
    ]
    for name in format_names():
        info = get_format(name)
        summary = (info.module.__doc__ or "").strip().split("\n\n", 1)[0].replace("\n", " ").replace("``", "`")
        lines += [f"## `{name}`", "", f"{info.description}. Layout: {summary}", ""]
        for side, options, can in (
            ("Read", info.read_options, info.can_read),
            ("Write", info.write_options, info.can_write),
        ):
            if not can:
                lines += [f"{side}: not supported.", ""]
            elif not options:
                lines += [f"{side} options: none.", ""]
            else:
                lines += [f"{side} options:", "", *_table(options), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(formats_markdown(), end="")
