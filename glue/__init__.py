"""What happens around and after training, in LLaMA-Factory's recipe schema. One subpackage per
floor, lowest first; each imports only its own floor and the floors below (tests/test_layering.py):

- folder/: the model-folder contract (variant.json, loading, weight-file checks)
- schema/: the one recipe reader
- train/: the training helpers every training path shares
- quant/: the post-training methods on exported checkpoints (PTQ, QAT, from-scratch INT8, bitsandbytes)
- sft/: the decoder's LLaMA-Factory SFT variant, registered and scored as a classifier

quantize.py (``python -m glue.quantize``, one recipe) sits above them all."""
