"""Silence the known-harmless start-up noise (listed so nobody wonders what was hidden).

- torchao: "Failed to load ... _C_cutlass_90a" / "Skipping import of cpp extensions": CUDA
  kernels that cannot load on a CPU build; torchao's CPU paths are unaffected.
- torch.utils._pytree: "Enum subclass ... register_constant() is deprecated", printed by torchao.
- bitsandbytes: the missing ``kernels`` package (it would download from a hub; not installed).
- torch.ao.quantization: deprecation in favour of torchao (we keep torch.ao behind one interface,
  see glue/quant/); and quint8/qint8 tensor creation (pytorch/pytorch#184982).
- torch.ao observers: "reduce_range will be deprecated" (UserWarning from torch.ao, covered by the
  module filter): glue/quant/ptq_static.py keeps reduce_range, the x86/fbgemm default, on purpose.
- torch._inductor: "To copy construct from a tensor ... use sourceTensor.detach().clone()", printed
  by Inductor's own oneDNN int8 lowering (mkldnn_lowerings.py) each time it compiles a ptq_pt2e
  graph; and "pre_grad_custom_pass quant_lift_up does not implement uuid()", its cache notice.
- torch._utils: "TypedStorage is deprecated", printed when torch.load(weights_only=True) rebuilds
  the quantized tensors of a torch.ao variant; the storage API is internal to torch.load.
(glue/quant/ptq_static.py also silences, locally, "must run observer before calling
calculate_qparams": rebuilding a saved model's structure converts observers that saw no data,
and the saved scales then replace theirs.)

``load_report_off`` hides, for one block, transformers' load report of a body loaded with a new
head that saved weights replace at once (a LoRA folder's reload): its "MISSING ... newly
initialized" would read as a fault where there is none.
"""
from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator


def quiet() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    for name in ("torchao", "torch.utils._pytree", "bitsandbytes", "torch._dynamo"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization.*deprecated.*")
    warnings.filterwarnings("ignore", message=r".*is deprecated.*torchao.*")
    warnings.filterwarnings("ignore", message=r".*quint8.*|.*qint8.*|.*quantized tensor.*")
    warnings.filterwarnings("ignore", message=r".*register_constant.*")
    warnings.filterwarnings("ignore", message=r".*TypedStorage is deprecated.*")
    warnings.filterwarnings("ignore", message=r"To copy construct from a tensor.*", module=r"torch\._inductor\..*")
    logging.getLogger("torch._inductor.codecache").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.ao\..*")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.ao\..*")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.ao\..*")


@contextlib.contextmanager
def load_report_off() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    before = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(before)
