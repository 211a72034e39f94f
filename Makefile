# swift-distill: the two commands of the README are `make run` (main job) and `make test`.
SHELL := /bin/bash
# Optimised build flags; target-cpu comes from here, never from Package.swift (see DESIGN.md).
# AVX-512 machines get skylake-avx512 (swiftc does not know x86-64-v4), others x86-64-v3.
CPU ?= $(shell grep -q avx512f /proc/cpuinfo 2>/dev/null && echo skylake-avx512 || echo x86-64-v3)
RELEASE := -c release -Xswiftc -target-cpu -Xswiftc $(CPU)
DEB_PACKAGES := libdnnl-dev zlib1g-dev libopenmpi-dev openmpi-bin libpng-dev libturbojpeg0-dev python3-torch python3-numpy python3-onnx dataset-fashion-mnist libopenblas0-openmp

.PHONY: setup build release test run bench bench-busy bench-schemes bench-checkpoint bench-mpi fuzz fuzz-ci studies studies-short clean

## Installs the Debian packages the build and the tests need, when any is missing, TensorBoard
## (PyPI) for the test that reads the event files back, and onnx + onnxruntime (PyPI) for the export tests.
setup:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
# (the event-file test reads tb/ with TensorBoard's own reader, run by the python3 on PATH)
	@python3 -c "import tensorboard" 2>/dev/null || python3 -m pip install --quiet tensorboard
# (the ONNX export tests check files with the onnx checker and run them with onnxruntime, same python3)
	@python3 -c "import onnx, onnxruntime" 2>/dev/null || python3 -m pip install --quiet onnx onnxruntime

build: setup
	swift build

release: setup
	swift build $(RELEASE) --product distill

## The test suite (debug build; the numeric tests use small tensors).
test: setup
	swift test

## The main job: a short Hinton-distillation experiment on Fashion-MNIST (report in runs/hinton-short).
run: release
	.build/release/distill run experiments/hinton-short.yaml --out runs/hinton-short

## The six fidelity studies of Stanton et al. 2021 (README, "Does distillation really work?"), one
## after another with shared teachers; each resumes where it stopped. `make studies-short`: minutes.
STUDIES := self-distillation temperature initialisation optimisation data landscape
studies: release
	for s in $(STUDIES); do .build/release/distill run experiments/stanton-$$s.yaml --teachers runs/stanton-teachers --out runs/stanton-$$s || exit 1; done

studies-short: release
	for s in $(STUDIES); do .build/release/distill run experiments/stanton-$$s.yaml --short --teachers runs/stanton-teachers-short --out runs/stanton-$$s-short || exit 1; done

## Throughput side by side with PyTorch and JAX (see Benchmarks/README.md).
## The peers come from PyPI into .build-peers (PyTorch 2.x, eager and torch.compile; JAX, which
## needs Python ≥ 3.12) beside Debian's PyTorch 1.13. `make bench-busy`: the same next to a rival process.
PEERS := .build-peers/bin/python
$(PEERS):
	@py=""; for c in python3.13 python3.12 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3) python3; do \
		if $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then py=$$c; break; fi; done; \
	[ -n "$$py" ] || { echo "make bench needs a python >= 3.12 for JAX"; exit 1; }; \
	$$py -m venv .build-peers && $(PEERS) -m pip install --quiet torch jax numpy || { rm -rf .build-peers; exit 1; }

bench: setup $(PEERS)
	bash Benchmarks/run.sh --rounds 3 --trials 2 --seconds 1.5 --raw Benchmarks/results/latest.jsonl

bench-busy: setup $(PEERS)
	bash Benchmarks/run.sh --busy --rounds 2 --trials 2 --seconds 1.5 --raw Benchmarks/results/busy.jsonl

## What a training scheme costs per step: mutual learning of two students against one student.
bench-schemes: setup
	swift build $(RELEASE) --product SchemeBench
	.build/release/SchemeBench --rounds 7 --seconds 1.5
	.build/release/SchemeBench --rounds 7 --seconds 1.5 --update sequential

## What checksumming a checkpoint costs next to writing it (bound: under 5 %).
bench-checkpoint: setup
	swift build $(RELEASE) --product CheckpointBench
	.build/release/CheckpointBench --rounds 9

## Data-parallel throughput: 1 process × 2 threads against mpirun -np 2 × 1 thread, and the all-reduce time.
bench-mpi: release
	Benchmarks/data_parallel.sh --reps 3

## Every fuzz target under libFuzzer and AddressSanitizer for FUZZ_SECONDS each (reproducers in
## Fuzz/reproducers/); `make fuzz-ci`: a few seconds each, as .ci/run does.
FUZZ_SECONDS ?= 600
fuzz: setup
	Fuzz/run.sh $(FUZZ_SECONDS)

fuzz-ci: setup
	Fuzz/run.sh 3

clean:
	rm -rf .build
