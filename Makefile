# tfodkit developer commands. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV := .venv
INTEROP := .venv-interop
BEAM := .venv-beam
DATUMARO := .venv-datumaro
HF := .venv-hf
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: demo test unit interop beam-test datumaro-test hf-test lint bench fuzz clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -e '.[dev,browser,fuzz]'
	touch $@

$(INTEROP)/.installed: pyproject.toml tests/interop/requirements.txt
	$(PYTHON) -m venv $(INTEROP)
	$(INTEROP)/bin/pip install $(PIP_FLAGS) -r tests/interop/requirements.txt
	$(INTEROP)/bin/pip install $(PIP_FLAGS) -e .
	touch $@

# Apache Beam, PyTorch (CPU wheel on disk) and the S3 test server: their own venv (Beam needs protobuf < 7).
$(BEAM)/.installed: pyproject.toml tests/beam/requirements.txt
	$(PYTHON) -m venv $(BEAM)
	$(BEAM)/bin/pip install $(PIP_FLAGS) -r tests/beam/requirements.txt -e '.[beam,torch,dev]'
	touch $@

# Datumaro without TensorFlow: the environment tfodkit's Datumaro plugin exists for.
$(DATUMARO)/.installed: pyproject.toml tests/datumaro/requirements.txt
	$(PYTHON) -m venv $(DATUMARO)
	$(DATUMARO)/bin/pip install $(PIP_FLAGS) -r tests/datumaro/requirements.txt
	$(DATUMARO)/bin/pip install $(PIP_FLAGS) -e .
	touch $@

# Hugging Face datasets: its own venv, as `datasets` pins fsspec and dill ranges that Beam's need not agree with.
$(HF)/.installed: pyproject.toml tests/hf/requirements.txt
	$(PYTHON) -m venv $(HF)
	$(HF)/bin/pip install $(PIP_FLAGS) -r tests/hf/requirements.txt
	$(HF)/bin/pip install $(PIP_FLAGS) -e .
	touch $@

## demo: convert a small generated CVAT dataset to a CVAT TFRecord zip and back, print a summary
demo: $(VENV)/.installed
	$(VENV)/bin/python examples/demo.py

## test: the whole suite: unit, property and doctests; interop tests against TensorFlow and Datumaro; Beam,
## PyTorch and S3 tests; the Datumaro plugin without TensorFlow. The gallery's browser test needs Debian's chromium (`apt-get install chromium`).
test: unit interop beam-test datumaro-test hf-test

unit: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -m "not interop" tests --ignore=tests/interop \
		--ignore=tests/beam --doctest-modules src/tfodkit --ignore=src/tfodkit/beam.py --ignore=src/tfodkit/torch.py \
		--ignore=src/tfodkit/datumaro

interop: $(INTEROP)/.installed
	$(INTEROP)/bin/python -m pytest -q -p no:cacheprovider tests/interop

## beam-test: Apache Beam pipelines, PyTorch loading, S3 through moto on loopback (in .venv-beam)
beam-test: $(BEAM)/.installed
	$(BEAM)/bin/python -m pytest -q -p no:cacheprovider tests/beam tests/test_torch_dataset.py tests/test_fsspec.py

## datumaro-test: tfodkit.datumaro in Datumaro 1.13 without TensorFlow (in .venv-datumaro)
datumaro-test: $(DATUMARO)/.installed
	$(DATUMARO)/bin/python -m pytest -q -p no:cacheprovider tests/datumaro \
		--doctest-modules src/tfodkit/datumaro

## hf-test: the hf format against Hugging Face datasets (load_from_disk, load_dataset("parquet")) in .venv-hf
hf-test: $(HF)/.installed
	$(HF)/bin/python -m pytest -q -p no:cacheprovider tests/hf --doctest-modules src/tfodkit/formats/hf.py

## lint: ruff (rules and format) on src, tests and bench; mypy on src (settings in pyproject.toml). All three run
## (one CI run shows every finding); any finding fails. beam.py, torch.py and datumaro/ are checked too: their
## heavy dependencies are not in .venv, and pyproject.toml's ignore_missing_imports types them as Any.
lint: $(VENV)/.installed
	@status=0; \
	$(VENV)/bin/ruff check src tests bench || status=1; \
	$(VENV)/bin/ruff format --check src tests bench || status=1; \
	$(VENV)/bin/mypy src || status=1; \
	exit $$status

bench: $(VENV)/.installed $(INTEROP)/.installed $(BEAM)/.installed
	$(INTEROP)/bin/python bench/run_all.py

## fuzz: every parser harness under atheris for FUZZ_RUNS inputs each (default 1,000,000), 2 at a time; a table
## of inputs tried and findings; corpora and crash inputs in fuzz/work/ (tests/test_fuzz_bounded.py is the CI run)
FUZZ_RUNS ?= 1000000
FUZZ_JOBS ?= 2
fuzz: $(VENV)/.installed
	$(VENV)/bin/python fuzz/run.py --runs $(FUZZ_RUNS) --jobs $(FUZZ_JOBS) $(FUZZ_HARNESSES)

clean:
	rm -rf $(VENV) $(INTEROP) $(BEAM) $(DATUMARO) $(HF) build src/*.egg-info .pytest_cache
