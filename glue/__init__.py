"""Glue for what LLaMA-Factory does not run: sequence classification, post-training
quantization, QAT, QLoRA for classifiers. Recipes stay in LLaMA-Factory's YAML schema."""
