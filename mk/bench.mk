# Benchmark (issue 6): this project's variants beside ONNX Runtime and torchao, one process.
# Not in ALL_TARGETS: it takes ~10 min on 2 cores and its timings want an otherwise idle machine.
#   make bench                          full run (adds the torch.compile row; compile time recorded apart)
#   make bench BENCH_ARGS=--no-compile  skip torch.compile (saves its 20-110 s compile)
BENCH_ARGS ?=

.PHONY: bench
bench: data  ## benchmark every minilm-l6 variant vs ONNX Runtime and torchao -> results/bench/ (not in all; ~10 min)
	$(PY) -m bench.run --models $(MODELS)/$(DATASET)/$(MODEL) --dataset-dir $(PREP) --results $(RESULTS) \
		--cache $(OUT)/bench --threads $(OMP_NUM_THREADS) $(BENCH_ARGS)
