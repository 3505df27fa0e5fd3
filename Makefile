# tfodkit developer commands. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV := .venv
INTEROP := .venv-interop
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: demo test unit interop bench fuzz clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -e '.[dev]'
	touch $@

$(INTEROP)/.installed: pyproject.toml tests/interop/requirements.txt
	$(PYTHON) -m venv $(INTEROP)
	$(INTEROP)/bin/pip install $(PIP_FLAGS) -r tests/interop/requirements.txt
	$(INTEROP)/bin/pip install $(PIP_FLAGS) -e .
	touch $@

## demo: convert a small generated CVAT dataset to a CVAT TFRecord zip and back, print a summary
demo: $(VENV)/.installed
	$(VENV)/bin/python examples/demo.py

## test: the whole suite: unit and property tests, then the interop tests against TensorFlow and Datumaro
test: unit interop

unit: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -q -m "not interop" tests

interop: $(INTEROP)/.installed
	$(INTEROP)/bin/python -m pytest -q -p no:cacheprovider tests/interop

bench: $(VENV)/.installed $(INTEROP)/.installed
	$(INTEROP)/bin/python bench/run_all.py

clean:
	rm -rf $(VENV) $(INTEROP) build src/*.egg-info .pytest_cache
