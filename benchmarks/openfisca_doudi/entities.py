"""Person and Household; a member's role in the household is their relation to the head."""

from __future__ import annotations

from openfisca_core.entities import build_entity

#: doudi's relations (engine/schema.py RELATIONS), in role order
RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other")
_PLURALS = {"child": "children", "grandchild": "grandchildren"}

Person = build_entity(
    key="person",
    plural="persons",
    label="家庭成员 / household member",
    is_person=True,
)

Household = build_entity(
    key="household",
    plural="households",
    label="家庭 / household",
    roles=[
        {"key": r, "plural": _PLURALS.get(r, r + "s"), "label": f"relation to the head: {r}"}
        for r in RELATIONS
    ],
)

ENTITIES = [Household, Person]
