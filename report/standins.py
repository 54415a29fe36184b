"""The "what we ran instead" box: the stand-in models (report/standins.yaml) joined with what the
result JSONs record about the data and the device actually used."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from report.analysis import Analysed, dig

STANDINS = Path(__file__).with_name("standins.yaml")


def standin_rows(tracks: list[Analysed]) -> list[dict[str, Any]]:
    """One row per model track: stand-in, original, why, data actually used, device."""
    known = yaml.safe_load(STANDINS.read_text())
    rows = []
    for a in tracks:
        base = a.group.baseline or next(iter(a.group.results.values()))
        info = known.get(a.group.model_tag, {"name": a.group.model_tag, "instead_of": "–",
                                             "why": "no stand-in entry in report/standins.yaml", "original": "–"})
        train = dig(base, "training.train_examples")
        devices = sorted({dig(r, "latency.device") or "?" for r in a.group.results.values()})
        cpu = dig(base, "provenance.machine.cpu")
        rows.append({**info, "model_tag": a.group.model_tag, "test": a.group.split_label,
                     "train": f"{train:,} training examples" if isinstance(train, int) else "training size not recorded",
                     "device": ", ".join(devices) + (f" ({cpu}, {dig(base, 'provenance.machine.cpus')} cores)"
                                                     if cpu else "")})
    return rows
