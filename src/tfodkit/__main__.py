"""``python -m tfodkit`` runs the ``tfod`` command."""

from tfodkit.cli import main

main()
