"""The model-folder contract (MANIFEST.md): variant.json's one type (manifest.py), loading any model
folder through the loader it names (variant.py), and the weight-file checks done first (weights.py).

The ground floor of glue: imports core and nothing else of glue."""
