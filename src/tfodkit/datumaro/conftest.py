# pytest's doctest run (--doctest-modules src/tfodkit) imports every module; these need Datumaro, which only the
# plugin's test environment (.venv-datumaro) has: without it they are not collected.
from importlib.util import find_spec

collect_ignore_glob = [] if find_spec("datumaro") else ["*.py"]
