# harflow's two everyday commands. Both build harflow's environment on first use
# (harflow/env.py: a plain venv, or a Debian 13 root file system on hosts with glibc < 2.39).
PYTHON ?= python3
HARFLOW = $(PYTHON) -m harflow
PYTEST_ARGS ?=

.PHONY: demo test env shell clean

demo:  ## the main job: synthetic data -> TFX pipeline -> pushed model -> a prediction
	$(HARFLOW) demo

test:  ## the test suite, inside harflow's environment
	$(HARFLOW) env run -- python -m pytest $(PYTEST_ARGS)

env:  ## build (or check) the environment only
	$(HARFLOW) env build

shell:  ## a shell inside the environment
	$(HARFLOW) env run -- bash

clean:  ## remove the demo's work dir (data, pipeline root, MLMD, serving dir)
	rm -rf harflow-work
