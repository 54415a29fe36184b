# Benchmark: this project's variants beside ONNX Runtime, torchao and BF16 autocast, one process.
# Not in ALL_TARGETS: it takes ~10 min on 2 cores (MiniLM; ~30-40 min for MPNet-base) and its timings
# want an otherwise idle machine.
#   make bench                          MiniLM-L6 on emotion (adds the torch.compile row; compile time recorded apart)
#   make bench MODEL=mpnet-base         another model's folder: outputs/models/$(DATASET)/$(MODEL)
#   make bench BENCH_ARGS=--no-compile  skip torch.compile (saves its 20-110 s compile)
BENCH_ARGS ?=
# The target judged (bench/target.py TARGETS): the bert-base-sized track has its own (docs/benchmark.md).
BENCH_TARGET_mpnet-base := mpnet

.PHONY: bench
bench: data  ## [inspect] benchmark MODEL's variants vs ONNX Runtime, torchao, BF16 -> results/bench/ (~10 min MiniLM, ~30-40 min MPNet)
	$(PY) -m bench.run --models $(MODELS)/$(DATASET)/$(MODEL) --dataset-dir $(PREP) --results $(RESULTS) \
		--cache $(OUT)/bench --threads $(OMP_NUM_THREADS) --target $(or $(BENCH_TARGET_$(MODEL)),default) $(BENCH_ARGS)
