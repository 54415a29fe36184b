"""The one recipe reader (recipe.py), for every entry point: LLaMA-Factory's schema plus glue's keys,
``extends`` layers, overrides, type and value checks. (The recipe files themselves are in recipes/.)

Imports core, data_prep and glue.folder (a recipe's model folder is checked before it is used)."""
