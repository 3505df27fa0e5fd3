"""``python -m tfodkit.datumaro ARGS…``: Datumaro's ``datum`` command with tfodkit's ``tf_detection_api``.

Example:
    python -m tfodkit.datumaro convert -i task/ -if cvat -f tf_detection_api -o out -- --save-media
"""

from __future__ import annotations

import sys

import tfodkit.datumaro  # noqa: F401  (registers the format before the command looks formats up)


def main() -> int:
    from datumaro.cli.__main__ import main as datum_main

    return int(datum_main() or 0)


if __name__ == "__main__":
    sys.exit(main())
