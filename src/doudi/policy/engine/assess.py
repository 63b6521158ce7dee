"""The ``assess`` contract: household descriptions in, explained results out (no Django).

``assess_json(doc, as_of=, tree=, sets=)`` takes the parsed ``{"households": [...]}`` document
and returns ``{"results": [...]}``, one result per household in order. Any problem raises
``InputError`` or ``ParameterError`` (messages in Chinese and English naming the household and
field) before anything is computed, so a caller never gets partial output.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from doudi.policy.engine.core import evaluate
from doudi.policy.engine.parameters import ParameterTree, load_tree
from doudi.policy.engine.schema import InputError, households_from_json


def assess_json(
    doc: Any,
    *,
    as_of: dt.date,
    tree: ParameterTree | None = None,
    sets: Mapping[str, object] | None = None,
    explain: bool = True,
    engine: str = "python",
) -> dict[str, Any]:
    tree = tree or load_tree()
    if sets:
        tree = tree.with_overrides(sets)
    if not isinstance(doc, dict) or "households" not in doc:
        raise InputError(
            '输入应为 {"households": [...]} 对象 / input must be an object {"households": [...]}'
        )
    households, members, ids = households_from_json(doc["households"])
    if not ids:
        return {"results": []}
    return {
        "results": evaluate(
            households, members, ids, tree=tree, as_of=as_of, explain=explain, engine=engine
        )
    }
