"""Quantization methods behind one interface, in the spirit of torchao's ``quantize_(model, config)``
and its handler registry keyed by config type.

    from glue.quant import get_method, quantize
    config = get_method("ptq_dynamic").config_cls.from_recipe({"granularity": "per_channel"})
    model, report = quantize(model, config)

Each method is one module in this package defining ``METHOD`` (a :class:`QuantMethod` that also
carries the method's facts: reader name, description, data, devices, families, how it loads);
adding a method is that module plus a recipe in recipes/quantize/, whose file name is the
variant's. The modules are imported once, on the first lookup. torch.ao (deprecated in torch
2.13, still working) is used only inside the method modules, so a torchao backend can replace
any of them.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import pkgutil
from pathlib import Path

import torch

from glue.quant.base import Applied, QuantConfig, QuantContext, QuantMethod, QuantReport
from glue.quant.facts import DataNeed, MethodFacts
from glue.quant.trained import TRAINED
from glue.quant.tuning import TuningOption, no_validation_split, untuned
from glue.schema.recipe import RecipeError, read_yaml

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "quantize"


@functools.cache
def _registry() -> tuple[dict[str, QuantMethod], dict[type[QuantConfig], QuantMethod]]:
    """Every method module in this package (one that defines ``METHOD``), by name and by config
    type; the other modules (base, smooth, outliers, ...) support them."""
    by_name: dict[str, QuantMethod] = {}
    by_config: dict[type[QuantConfig], QuantMethod] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        method = getattr(importlib.import_module(f"{__name__}.{info.name}"), "METHOD", None)
        if method is None:
            continue
        for table, key in ((by_name, method.name), (by_config, method.config_cls)):
            if key in table:
                raise RecipeError(f"glue/quant/{info.name}.py: {getattr(key, '__name__', key)} is already method "
                                  f"{table[key].name}'s; give each method its own name and config class")
            table[key] = method
    return by_name, by_config


def methods() -> dict[str, QuantMethod]:
    return dict(_registry()[0])


def get_method(name: str) -> QuantMethod:
    known = _registry()[0]
    if name not in known:
        raise RecipeError(f"method {name!r} is not a quantization method; known: {', '.join(sorted(known))}")
    return known[name]


def method_of(config: QuantConfig) -> QuantMethod:
    method = _registry()[1].get(type(config))
    if method is None:
        raise RecipeError(f"{type(config).__name__} belongs to no quantization method")
    return method


def quantize(model: torch.nn.Module, config: QuantConfig, context: QuantContext | None = None) -> Applied:
    """Quantize ``model`` as ``config`` says: the quantized model and what was done. ``model`` is
    consumed (changed in place, or replaced: use the returned one); ``config`` is left as it was.
    A ``max_drop`` budget with no validation split to score it on builds as without one and
    records why: a recipe that sets a budget still builds on a dataset that has no such split."""
    method, context = method_of(config), context or QuantContext()
    if isinstance(config, TuningOption) and config.max_drop is not None and context.validation is None:
        return untuned(method.apply(model, dataclasses.replace(config, max_drop=None), context), config,
                       "no_validation_split", no_validation_split(context))
    return method.apply(model, config, context)


def method_facts() -> dict[str, MethodFacts]:
    """Every method the project compares: the trained ones and the quantization methods."""
    return {**{f.name: f for f in TRAINED}, **{name: m.facts for name, m in _registry()[0].items()}}


def variants(family: str | None = None, recipes: Path = RECIPES) -> dict[str, str]:
    """Variant name -> method name: each recipe in ``recipes`` names its method and is named for its
    variant; a trained method is its own variant. With ``family``, those its track builds."""
    known = method_facts()
    found = {}
    for path in sorted(recipes.glob("*.yaml")):
        method = read_yaml(path).get("method")
        if method not in known:
            raise RecipeError(f"{path}: method {method!r} is not a quantization method; "
                              f"known: {', '.join(sorted(methods()))}")
        found[path.stem] = method
    found.update({f.name: f.name for f in TRAINED if f.families})
    return {v: m for v, m in found.items() if family is None or family in known[m].families}


def variant_titles(recipes: Path = RECIPES) -> dict[str, str]:
    """Variant name -> the name a reader sees, for every variant and trained method (the baseline
    too): the one home of the reports' names, so the hand-ins and the appendix say the same."""
    known = method_facts()
    titles = {name: facts.title for name, facts in known.items()}
    titles.update({v: known[m].variant_title(v) for v, m in variants(recipes=recipes).items()})
    return titles


__all__ = ["DataNeed", "MethodFacts", "QuantConfig", "QuantContext", "QuantMethod", "QuantReport", "get_method",
           "method_facts", "method_of", "methods", "quantize", "variant_titles", "variants"]
