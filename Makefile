# harflow's two everyday commands. Both build harflow's environment on first use
# (harflow/env/: a plain venv, or a Debian 13 root file system on hosts with glibc < 2.39,
# as root or rootless; `make env` prints which and why). Quiet by default: HARFLOW_DEBUG=1 shows
# TensorFlow's, absl's and FFmpeg's log lines.
PYTHON ?= python3
HARFLOW = $(PYTHON) -m harflow
PYTEST_ARGS ?=

.PHONY: demo test env shell ci-rootless clean

demo:  ## the main job: synthetic data -> TFX pipeline -> pushed model -> a prediction
	$(HARFLOW) demo

test:  ## the test suite, inside harflow's environment
	$(HARFLOW) env run -- python -m pytest $(PYTEST_ARGS)

env:  ## build (or check) the environment only
	$(HARFLOW) env build

shell:  ## a shell inside the environment
	$(HARFLOW) env run -- bash

ci-rootless:  ## as root: build the environment and run a tiny demo as the unprivileged user nobody (.ci/rootless)
	.ci/rootless

clean:  ## remove the demo's work dir (data, pipeline root, MLMD, serving dir)
	rm -rf harflow-work
