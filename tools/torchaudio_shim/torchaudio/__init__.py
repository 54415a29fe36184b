"""Text-only stand-in for torchaudio (distribution ``torchaudio-textonly-shim``).

LLaMA-Factory 0.9.5 imports torchaudio at start-up (llamafactory/data/mm_plugin.py) but uses
it only for audio inputs. Where no torchaudio build matches the installed torch (CPU torch 2.13:
``OSError`` loading ``_torchaudio.abi3.so``), this package lets the import succeed; any use of
an attribute raises an error explaining what to install instead. tools/setup.sh installs it
only when ``import torchaudio`` fails.

Note: transformers 5.6's ``is_torchaudio_available()`` only checks that a module named
``torchaudio`` can be found, so it reports True with this shim; only audio models and
pipelines consult it, and they get the error below.
"""
from __future__ import annotations

__version__ = "0.0.0+textonly"


class AudioUnavailableError(ImportError):
    """Raised on any use of this stand-in: audio needs a real torchaudio."""


def __getattr__(name: str):
    if name.startswith("__"):  # keep introspection (copy, pickle, pytest) working
        raise AttributeError(name)
    raise AudioUnavailableError(
        f"torchaudio.{name} is unavailable: this is the text-only torchaudio shim (tools/torchaudio_shim). "
        "Audio needs a real torchaudio build matching your torch: pip uninstall torchaudio-textonly-shim, "
        "then pip install torchaudio==<the version paired with your torch> from the same index as torch.")
