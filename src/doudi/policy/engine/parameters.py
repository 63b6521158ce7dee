"""Policy parameters as data: one TOML file a parameter, effective-dated, scoped, referenced.

A parameter file (``policy/parameters/<dotted.name>.toml``) holds the parameter's Chinese label,
unit, kind (``money`` in yuan, ``ratio``, ``int``) and a list of dated values. Each value has
``from`` (the date it takes effect), ``scope`` (``city``, or a 6-digit county code where the
county differs, e.g. Zhifu's 特困 standard), ``value``, ``reference`` (the policy text) and
``assumed`` (true where DOMAIN.md marks the figure or its date as assumed).

Lookup "as of" a date for a county: among the values whose scope is the city or that county and
that took effect on or before the date, the latest wins; on the same date the county's value wins
over the city's. So a county keeps its own value until the city (or the county) declares a newer
one. Before the first value a parameter is *not in force*: lookups return ``None`` and the rules
that need it answer "unknown".

Approved changes made in the UI are extra dated values (see ``ParameterTree.with_values``);
history is never edited. ``--set NAME=VALUE`` overrides replace a parameter's value for every
scope and date (what-if and the ``assess`` contract).

No Django here: the same tree serves the counter, the sweep and the CLI.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

PARAMETER_DIR = Path(__file__).resolve().parent.parent / "parameters"
KINDS = ("money", "ratio", "int")
CITY = "city"


class ParameterError(ValueError):
    """A parameter file, value or override is invalid. ``str()`` is Chinese / English."""


@dataclass(frozen=True)
class DatedValue:
    start: dt.date
    scope: str
    value: Decimal
    reference: str
    assumed: bool = False
    note: str = ""
    origin: str = "file"  # "file", "change:<id>" (approved in the UI) or "set" (an override)

    def as_dict(self) -> dict[str, object]:
        return {
            "from": self.start.isoformat(),
            "scope": self.scope,
            "value": str(self.value),
            "reference": self.reference,
            "assumed": self.assumed,
            "note": self.note,
            "origin": self.origin,
        }


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    unit: str
    kind: str
    description: str
    values: tuple[DatedValue, ...]

    def lookup(self, as_of: dt.date, county: str | None = None) -> DatedValue | None:
        best: DatedValue | None = None
        for v in self.values:
            if v.start > as_of or (v.scope != CITY and v.scope != county):
                continue
            if (
                best is None
                or v.start > best.start
                or (v.start == best.start and v.scope != CITY and best.scope == CITY)
            ):
                best = v
        return best

    def history(self) -> list[DatedValue]:
        return sorted(self.values, key=lambda v: (v.start, v.scope != CITY, v.scope))

    @property
    def assumed(self) -> bool:
        return any(v.assumed for v in self.values)

    def scopes(self) -> list[str]:
        return sorted({v.scope for v in self.values if v.scope != CITY})


def _coerce(name: str, kind: str, raw: object) -> Decimal:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise ParameterError(
            f"参数 {name} 的取值不是数字：{raw!r} / parameter {name}: value {raw!r} is not a number"
        ) from None
    if not value.is_finite() or value < 0:
        raise ParameterError(
            f"参数 {name} 的取值必须是非负数：{raw!r} / parameter {name}: value must be "
            f"a non-negative number, got {raw!r}"
        )
    if kind == "int" and value != value.to_integral_value():
        raise ParameterError(
            f"参数 {name} 必须是整数：{raw!r} / parameter {name}: value must be a whole number"
        )
    if kind == "money" and value != value.quantize(Decimal("0.01")):
        raise ParameterError(
            f"参数 {name} 金额最多两位小数：{raw!r} / parameter {name}: at most 2 decimals (fen)"
        )
    if kind == "ratio" and value != value.quantize(Decimal("0.0001")):
        raise ParameterError(
            f"参数 {name} 比例最多四位小数：{raw!r} / parameter {name}: at most 4 decimals"
        )
    return value


def _parse_file(path: Path) -> Parameter:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"参数文件 {path.name} 格式错误：{exc} / bad TOML") from None
    name = data.get("name")
    if name != path.stem:
        raise ParameterError(
            f"参数文件 {path.name} 的 name 应为 {path.stem} / name must match the file name"
        )
    kind = data.get("kind")
    if kind not in KINDS:
        raise ParameterError(f"参数 {name} 的 kind 必须是 {KINDS} / unknown kind {kind!r}")
    for key in ("label", "unit", "description"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ParameterError(f"参数 {name} 缺少 {key} / parameter {name} lacks {key}")
    values = []
    for i, raw in enumerate(data.get("values") or []):
        start = raw.get("from")
        if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
            raise ParameterError(
                f"参数 {name} 第 {i + 1} 个取值缺少生效日期 from / value {i + 1} lacks a date"
            )
        scope = str(raw.get("scope", CITY))
        if scope != CITY and not (len(scope) == 6 and scope.isdigit()):
            raise ParameterError(
                f"参数 {name} 的适用范围应为 city 或6位区县代码：{scope} / bad scope {scope!r}"
            )
        if not raw.get("reference"):
            raise ParameterError(
                f"参数 {name} 第 {i + 1} 个取值缺少政策依据 reference / value lacks a reference"
            )
        values.append(
            DatedValue(
                start=start,
                scope=scope,
                value=_coerce(name, kind, raw.get("value")),
                reference=str(raw["reference"]),
                assumed=bool(raw.get("assumed", False)),
                note=str(raw.get("note", "")),
            )
        )
    if not values:
        raise ParameterError(f"参数 {name} 没有任何取值 / parameter {name} has no values")
    seen = set()
    for v in values:
        if (v.start, v.scope) in seen:
            raise ParameterError(
                f"参数 {name} 在 {v.start} 对 {v.scope} 有重复取值 / duplicate dated value"
            )
        seen.add((v.start, v.scope))
    return Parameter(
        name=name,
        label=data["label"],
        unit=data["unit"],
        kind=kind,
        description=data["description"],
        values=tuple(values),
    )


@dataclass(frozen=True)
class ParameterTree:
    """All parameters, immutable. ``overrides`` hold ``--set`` values (name -> Decimal)."""

    params: Mapping[str, Parameter]
    overrides: Mapping[str, Decimal] = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return name in self.params

    def names(self) -> list[str]:
        return sorted(self.params)

    def get(self, name: str) -> Parameter:
        try:
            return self.params[name]
        except KeyError:
            raise ParameterError(
                f"未知参数 {name}（可用：{', '.join(self.names())}） / unknown parameter {name}"
            ) from None

    def value(self, name: str, as_of: dt.date, county: str | None = None) -> Decimal | None:
        if name in self.overrides:
            return self.overrides[name]
        found = self.get(name).lookup(as_of, county)
        return None if found is None else found.value

    def entry(self, name: str, as_of: dt.date, county: str | None = None) -> DatedValue | None:
        if name in self.overrides:
            return DatedValue(
                start=as_of, scope=CITY, value=self.overrides[name], reference="--set", origin="set"
            )
        return self.get(name).lookup(as_of, county)

    def with_overrides(self, sets: Mapping[str, object]) -> ParameterTree:
        merged = dict(self.overrides)
        for name, raw in sets.items():
            param = self.get(name)
            merged[name] = _coerce(name, param.kind, raw)
        return replace(self, overrides=merged)

    def with_values(self, extra: Iterable[tuple[str, DatedValue]]) -> ParameterTree:
        """Add approved dated values (never replacing one on the same date and scope)."""
        params = dict(self.params)
        for name, value in extra:
            p = self.get(name) if name not in params else params[name]
            _coerce(name, p.kind, value.value)
            if any(v.start == value.start and v.scope == value.scope for v in p.values):
                continue
            params[name] = replace(p, values=(*p.values, value))
        return replace(self, params=params)

    def snapshot(self, as_of: dt.date, counties: Iterable[str]) -> dict[str, dict[str, Decimal]]:
        """{county: {name: value}} for the given counties (and ``city``); None if not in force."""
        out: dict[str, dict[str, Decimal]] = {}
        for county in [CITY, *counties]:
            key = None if county == CITY else county
            out[county] = {n: self.value(n, as_of, key) for n in self.names()}  # type: ignore[misc]
        return out

    def version(self, as_of: dt.date) -> str:
        """A short, stable label of the values in force on ``as_of`` (all scopes).

        ``yantai-<as_of>-<12 hex>``; ``+set`` when ``--set`` overrides apply. The same values
        give the same version, whatever files or changes they came from.
        """
        payload = []
        for name in self.names():
            p = self.params[name]
            scopes = [CITY, *p.scopes()]
            for s in scopes:
                v = self.value(name, as_of, None if s == CITY else s)
                payload.append([name, s, None if v is None else str(v)])
        digest = hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:12]
        suffix = "+set" if self.overrides else ""
        return f"yantai-{as_of.isoformat()}-{digest}{suffix}"


@functools.cache
def load_tree(directory: str | None = None) -> ParameterTree:
    """Load every parameter file of ``directory`` (default: the bundled ones), validated."""
    root = Path(directory) if directory else PARAMETER_DIR
    params = {}
    for path in sorted(root.glob("*.toml")):
        p = _parse_file(path)
        params[p.name] = p
    return ParameterTree(params=params)


def parse_set(items: Iterable[str]) -> dict[str, str]:
    """``["dibao.standard.urban=1100", ...]`` -> dict; a malformed item raises ParameterError."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ParameterError(
                f"--set 参数格式应为 名称=数值：{item!r} / --set expects NAME=VALUE, got {item!r}"
            )
        out[name.strip()] = value.strip()
    return out
