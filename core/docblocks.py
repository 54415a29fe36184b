"""Generated blocks inside hand-written Markdown: the text between ``<!-- <kind>:<key>:begin -->``
and ``<!-- <kind>:<key>:end -->`` belongs to a generator, so a document can quote numbers or a
schema without a second copy to keep in step. Generators rewrite the blocks; tests call
``stale`` and fail when a block no longer matches what its generator gives."""
from __future__ import annotations

import re
from collections.abc import Mapping


def _pattern(kind: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- {kind}:(?P<key>[^:\s]+):begin -->\n)(?P<body>.*?)(<!-- {kind}:(?P=key):end -->)",
                      re.DOTALL)


def blocks(text: str, kind: str) -> dict[str, str]:
    """Key -> current body of every ``kind`` block in ``text``."""
    return {m["key"]: m["body"] for m in _pattern(kind).finditer(text)}


def missing(text: str, kind: str, generated: Mapping[str, str]) -> list[str]:
    """Keys of blocks in ``text`` that the generator has nothing for."""
    return [key for key in blocks(text, kind) if key not in generated]


def replace(text: str, kind: str, generated: Mapping[str, str]) -> str:
    """``text`` with every ``kind`` block the generator knows rewritten; the others are left as they are."""
    def fill(m: re.Match[str]) -> str:
        return m.group(1) + generated[m["key"]] + m.group(4) if m["key"] in generated else m.group(0)
    return _pattern(kind).sub(fill, text)


def stale(text: str, kind: str, generated: Mapping[str, str]) -> list[str]:
    """Keys of ``kind`` blocks whose body differs from the generated one (or has none)."""
    return [key for key, body in blocks(text, kind).items() if generated.get(key) != body]
