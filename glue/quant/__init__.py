"""Quantization methods behind one interface, in the spirit of torchao's ``quantize_(model, config)``.

    from glue.quant import get_method, quantize_
    config = get_method("ptq_dynamic").config_cls.from_recipe({"granularity": "per_channel"})
    model = quantize_(model, config)

Each method is one module in this package defining ``METHOD`` (a :class:`QuantMethod`); adding a
method is that module plus a recipe. torch.ao (deprecated in torch 2.13, still working) is used
only inside the method modules, so a torchao backend can replace any of them.
"""
from __future__ import annotations

import importlib
import pkgutil

import torch

from glue.quant.base import QuantConfig, QuantContext, QuantMethod
from glue.recipe import RecipeError


def methods() -> dict[str, QuantMethod]:
    """Every method module in glue/quant/ (one that defines ``METHOD``), by method name; the other
    modules (base, smooth, outliers, ...) support them."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        method = getattr(importlib.import_module(f"{__name__}.{info.name}"), "METHOD", None)
        if method is not None:
            found[method.name] = method
    return found


def get_method(name: str) -> QuantMethod:
    known = methods()
    if name not in known:
        raise RecipeError(f"method {name!r} is not a quantization method; known: {', '.join(sorted(known))}")
    return known[name]


def method_of(config: QuantConfig) -> QuantMethod:
    for method in methods().values():
        if type(config) is method.config_cls:
            return method
    raise RecipeError(f"{type(config).__name__} belongs to no quantization method")


def quantize_(model: torch.nn.Module, config: QuantConfig, context: QuantContext | None = None) -> torch.nn.Module:
    """Quantize ``model`` as ``config`` says and return it (torch.ao swaps modules in place; the
    returned object is the one to use). Measurements land in ``context.stats``."""
    return method_of(config).apply(model, config, context or QuantContext())


__all__ = ["QuantConfig", "QuantContext", "QuantMethod", "get_method", "methods", "quantize_"]
