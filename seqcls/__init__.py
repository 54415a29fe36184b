"""A sequence-classification stage for LLaMA-Factory (``stage: seq_cls``).

LLaMA-Factory trains causal LMs only (pt, sft, rm, ppo, dpo, kto); its maintainers declined a
classification stage (hiyouga/LLaMA-Factory#1463). This package adds one without forking it:
``make setup`` writes a ``.pth`` file that imports :mod:`seqcls.hook` at interpreter start, and
the hook adds ``seq_cls`` to LLaMA-Factory's stage dispatch when LLaMA-Factory itself is imported.
``llamafactory-cli train RECIPE`` then parses and validates a classifier recipe with LLaMA-Factory's
own argument classes and runs :func:`seqcls.workflow.run_seq_cls`.
"""

STAGE = "seq_cls"
# The LLaMA-Factory release whose internals (stage Literal, tuner dispatch) the hook patches.
SUPPORTED_LLAMAFACTORY = "0.9.5"
