"""What happens around and after training, in LLaMA-Factory's recipe schema: the model-folder
contract (manifest.py, variant.py), the training helpers every training path shares (training.py),
and the post-training methods on exported checkpoints (quant/: PTQ, QAT, from-scratch INT8,
bitsandbytes loads; quantize.py runs one recipe)."""
