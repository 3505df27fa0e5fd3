"""The Datumaro plugin's tests run in .venv-datumaro (`make datumaro-test`); elsewhere they are not collected."""

from __future__ import annotations

from importlib.util import find_spec

collect_ignore_glob = [] if find_spec("datumaro") else ["test_*.py"]
