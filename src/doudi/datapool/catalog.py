"""The data-pool interface catalog (数据池接口目录): what each department's feed looks like.

Every interface a department shares with civil affairs is declared as data, one TOML file per
interface in ``interfaces/<code>.toml`` plus ``interfaces/_departments.toml`` (format and rules:
``CATALOG.md`` next to this module). ``load_catalog()`` reads and validates them once per directory
(cached) and returns an immutable ``Catalog``; a malformed declaration raises ``CatalogError``
naming the file and the problem.

No Django here: the catalog is plain data that importers, verification, monitoring rules and the
town data-return pages all read.

Headers in department files vary in small ways (spaces, full-width brackets, a "*" marking a
required column); compare them through ``normalize_header``. Declared headers and aliases are
themselves in normalised form, so ``Interface.headers()[normalize_header(column)]`` finds the field
of a column. Enum values are compared through ``normalize_value`` (NFKC, no whitespace,
case-folded), see ``Field.canonical``.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from types import MappingProxyType
from typing import Any

#: the directory holding the project's declarations
DEFAULT_DIRECTORY = Path(__file__).resolve().parent / "interfaces"
#: the departments file inside a catalog directory
DEPARTMENTS_FILE = "_departments.toml"

FIELD_TYPES = (
    "id_number",
    "string",
    "date",
    "decimal",
    "integer",
    "enum",
    "boolean",
    "region_code",
)
FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "yearly", "event")
USES = ("verification", "warning", "return", "sharing")
SUBJECTS = ("person", "household", "area")

#: Chinese labels for the UI
FREQUENCY_LABELS = MappingProxyType(
    {
        "daily": "每日",
        "weekly": "每周",
        "monthly": "每月",
        "quarterly": "每季度",
        "yearly": "每年",
        "event": "实时/按需",
    }
)
USE_LABELS = MappingProxyType(
    {"verification": "核对", "warning": "预警", "return": "数据返还", "sharing": "共享"}
)
SUBJECT_LABELS = MappingProxyType({"person": "个人", "household": "家庭", "area": "区域"})
FIELD_TYPE_LABELS = MappingProxyType(
    {
        "id_number": "身份证号",
        "string": "文本",
        "date": "日期",
        "decimal": "金额（元）",
        "integer": "整数",
        "enum": "代码值",
        "boolean": "是/否",
        "region_code": "区划代码",
    }
)

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_BRACKETS = str.maketrans({"（": "(", "）": ")"})
_STARS = "*＊"

_INTERFACE_KEYS = {
    "code",
    "name",
    "department",
    "description",
    "frequency",
    "uses",
    "key",
    "period_field",
    "subject",
    "person_field",
    "name_field",
    "area_field",
    "returned_to_towns",
    "fields",
}
_FIELD_KEYS = {"name", "header", "type", "required", "aliases", "values"}
_DEPARTMENT_KEYS = {"code", "name", "short"}


# -- normalisation ------------------------------------------------------------------------------


def normalize_header(text: object) -> str:
    """The comparable form of a column header.

    Removes every whitespace character (ASCII blanks, tabs, line breaks, U+00A0, U+3000 full-width
    space, …) and the invisible U+200B/U+200C/U+200D/U+2060/U+FEFF (a byte-order mark often sticks
    to the first header of a CSV file); turns full-width parentheses （） into ASCII (); removes
    the "*" or "＊" marks spreadsheet templates put before or after required columns.
    ``None`` gives "".

    >>> normalize_header(" 医疗总费用（元）* ")
    '医疗总费用(元)'
    """
    if text is None:
        return ""
    s = "".join(ch for ch in str(text) if not ch.isspace())
    s = s.translate(_INVISIBLE).translate(_BRACKETS)
    return s.strip(_STARS)


def normalize_value(text: object) -> str:
    """The comparable form of an enum value: NFKC (full-width letters, digits and brackets become
    ASCII), no whitespace or invisible characters, case-folded. ``None`` gives ""."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    return "".join(ch for ch in s if not ch.isspace()).translate(_INVISIBLE).casefold()


# -- errors -------------------------------------------------------------------------------------


class CatalogError(ValueError):
    """A declaration breaks a rule of CATALOG.md. ``file`` is the offending file, ``problem`` what
    is wrong; ``str()`` gives "<file name>: <problem>"."""

    def __init__(self, file: Path | str, problem: str) -> None:
        self.file = Path(file)
        self.problem = problem
        super().__init__(f"{self.file.name}: {problem}")


class UnknownInterface(KeyError):
    """No interface has this code (数据池中没有这个接口)."""

    def __init__(self, code: object, known: Iterable[str] = ()) -> None:
        self.code = code
        close = difflib.get_close_matches(str(code), list(known), n=3)
        hint = f" 您是否要找 / did you mean: {', '.join(close)}?" if close else ""
        self.message = f"数据池中没有接口“{code}”。Unknown data-pool interface {code!r}.{hint}"
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would show the message quoted
        return self.message


# -- the declarations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Department:
    """A department that shares data (共享部门)."""

    code: str
    name: str
    short: str


@dataclass(frozen=True)
class Field:
    """One column of an interface.

    ``values`` (enum fields only) maps each canonical value to its accepted spellings; the
    canonical value itself is always accepted.
    """

    name: str
    header: str
    type: str
    required: bool = True
    aliases: tuple[str, ...] = ()
    values: Mapping[str, tuple[str, ...]] = dc_field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    @property
    def type_label(self) -> str:
        return FIELD_TYPE_LABELS.get(self.type, self.type)

    @property
    def headers(self) -> tuple[str, ...]:
        """The header and its aliases, header first."""
        return (self.header, *self.aliases)

    @functools.cached_property
    def spellings(self) -> Mapping[str, str]:
        """``normalize_value(spelling)`` → canonical value, for every accepted spelling."""
        table: dict[str, str] = {}
        for canonical, spellings in self.values.items():
            for spelling in (canonical, *spellings):
                table[normalize_value(spelling)] = canonical
        return MappingProxyType(table)

    def canonical(self, value: object) -> str | None:
        """The canonical value for a spelling of an enum field, or None if not accepted.

        >>> grade.canonical(" 一级残疾 ")  # doctest: +SKIP
        '1'
        """
        return self.spellings.get(normalize_value(value))


@dataclass(frozen=True)
class Interface:
    """One declared interface (数据接口): a department's feed of one kind of record."""

    code: str
    name: str
    department: str
    description: str
    frequency: str
    uses: tuple[str, ...]
    key: tuple[str, ...]
    subject: str
    fields: tuple[Field, ...]
    period_field: str | None = None
    person_field: str | None = None
    name_field: str | None = None
    area_field: str | None = None
    returned_to_towns: str | None = None
    #: the department's short name (filled in by the loader; not part of the declaration)
    department_short: str = dc_field(default="", compare=False)

    @functools.cached_property
    def _by_name(self) -> Mapping[str, Field]:
        return MappingProxyType({f.name: f for f in self.fields})

    def field(self, name: str) -> Field:
        """The field called ``name``; KeyError if the interface has none."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"interface {self.code!r} has no field {name!r}") from None

    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @functools.cached_property
    def _headers(self) -> Mapping[str, str]:
        return MappingProxyType({h: f.name for f in self.fields for h in f.headers})

    def headers(self) -> Mapping[str, str]:
        """Every accepted header and alias (in normalised form) → field name. Look a department
        column up with ``headers().get(normalize_header(column))``."""
        return self._headers

    def required_headers(self) -> tuple[str, ...]:
        """The headers of the required fields, in declaration order."""
        return tuple(f.header for f in self.fields if f.required)

    @property
    def id_field(self) -> Field | None:
        """The field holding the ID number of the person (or household head), if any."""
        return self.field(self.person_field) if self.person_field else None

    @property
    def label(self) -> str:
        """Display label: the department's short name and the interface name, e.g.
        "医保·医保住院结算" (just the name if the department is unknown)."""
        return f"{self.department_short}·{self.name}" if self.department_short else self.name

    @property
    def returned(self) -> bool:
        """Whether the facts are pushed back to towns (数据返还)."""
        return self.returned_to_towns is not None

    @property
    def frequency_label(self) -> str:
        return FREQUENCY_LABELS.get(self.frequency, self.frequency)

    @property
    def uses_label(self) -> str:
        return "、".join(USE_LABELS.get(u, u) for u in self.uses)

    @property
    def key_headers(self) -> tuple[str, ...]:
        return tuple(self.field(name).header for name in self.key)


@dataclass(frozen=True, eq=False)
class Catalog:
    """All departments (file order) and interfaces (code order). Iterating gives interfaces."""

    departments: Mapping[str, Department]
    interfaces: Mapping[str, Interface]
    directory: Path | None = None

    def get(self, code: str) -> Interface:
        """The interface ``code``; ``UnknownInterface`` (a KeyError) if there is none."""
        try:
            return self.interfaces[code]
        except (KeyError, TypeError):
            raise UnknownInterface(code, self.interfaces) from None

    def department(self, code: str) -> Department:
        try:
            return self.departments[code]
        except KeyError:
            raise KeyError(f"未知的部门“{code}” / unknown department {code!r}") from None

    def by_department(self) -> Mapping[str, tuple[Interface, ...]]:
        """Department code → its interfaces (code order), for every department in file order."""
        groups: dict[str, list[Interface]] = {code: [] for code in self.departments}
        for interface in self.interfaces.values():
            groups[interface.department].append(interface)
        return MappingProxyType({code: tuple(items) for code, items in groups.items()})

    def for_use(self, use: str) -> tuple[Interface, ...]:
        """The interfaces feeding ``use`` (one of ``USES``)."""
        if use not in USES:
            raise ValueError(f"unknown use {use!r}; expected one of {', '.join(USES)}")
        return tuple(i for i in self.interfaces.values() if use in i.uses)

    def returned(self) -> tuple[Interface, ...]:
        """The interfaces whose facts are pushed back to towns."""
        return tuple(i for i in self.interfaces.values() if i.returned)

    def __iter__(self) -> Iterator[Interface]:
        return iter(self.interfaces.values())

    def __len__(self) -> int:
        return len(self.interfaces)

    def __contains__(self, code: object) -> bool:
        return code in self.interfaces


# -- loading ------------------------------------------------------------------------------------


def load_catalog(directory: Path | str | None = None) -> Catalog:
    """Read and validate the catalog in ``directory`` (default: the project's ``interfaces/``).

    Cached per resolved directory: later calls return the same ``Catalog``. ``clear_cache()``
    forgets it (tests that rewrite files). Raises ``CatalogError`` on the first broken rule.
    """
    path = DEFAULT_DIRECTORY if directory is None else Path(directory)
    return _load_cached(path.resolve())


def clear_cache() -> None:
    _load_cached.cache_clear()


@functools.cache
def _load_cached(directory: Path) -> Catalog:
    return _load(directory)


def _load(directory: Path) -> Catalog:
    if not directory.is_dir():
        raise CatalogError(directory, "catalog directory not found")
    departments = _load_departments(directory / DEPARTMENTS_FILE)

    files = sorted(
        p for p in directory.glob("*.toml") if p.is_file() and not p.name.startswith("_")
    )
    raw = [(p, _read_toml(p)) for p in files]

    seen: dict[str, Path] = {}
    for path, data in raw:
        code = data.get("code")
        if isinstance(code, str) and code in seen:
            raise CatalogError(
                path, f"duplicate interface code {code!r} (also declared in {seen[code].name})"
            )
        if isinstance(code, str):
            seen[code] = path

    interfaces = [_build_interface(path, data, departments) for path, data in raw]
    interfaces.sort(key=lambda i: i.code)
    return Catalog(
        departments=MappingProxyType(departments),
        interfaces=MappingProxyType({i.code: i for i in interfaces}),
        directory=directory,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(path, f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise CatalogError(path, "not UTF-8 text") from None


def _text(path: Path, data: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise CatalogError(path, f"{where}{key} must be a string, not {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise CatalogError(path, f"{where}{key} is missing or empty")
    return value


def _string_list(path: Path, data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogError(path, f"{where}{key} must be a list of non-empty strings")
    items = tuple(v.strip() for v in value)
    dupes = sorted({v for v in items if items.count(v) > 1})
    if dupes:
        raise CatalogError(path, f"{where}{key} lists {', '.join(dupes)} more than once")
    return items


def _unknown_keys(path: Path, data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise CatalogError(
            path, f"{where}unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}"
        )


def _load_departments(path: Path) -> dict[str, Department]:
    if not path.is_file():
        raise CatalogError(path, "departments file not found")
    data = _read_toml(path)
    _unknown_keys(path, data, {"department"}, "")
    entries = data.get("department")
    if not isinstance(entries, list) or not entries:
        raise CatalogError(path, "no [[department]] entries")
    departments: dict[str, Department] = {}
    for n, entry in enumerate(entries, start=1):
        where = f"department #{n}: "
        if not isinstance(entry, dict):
            raise CatalogError(path, f"{where}must be a table")
        _unknown_keys(path, entry, _DEPARTMENT_KEYS, where)
        code = _text(path, entry, "code", where, required=True)
        if not _CODE_RE.match(code):
            raise CatalogError(path, f"{where}code {code!r} is not lowercase snake_case")
        if code in departments:
            raise CatalogError(path, f"duplicate department code {code!r}")
        departments[code] = Department(
            code=code,
            name=_text(path, entry, "name", where, required=True),
            short=_text(path, entry, "short", where, required=True),
        )
    return departments


def _build_field(path: Path, entry: Any, n: int) -> Field:
    if not isinstance(entry, dict):
        raise CatalogError(path, f"field #{n} must be a table")
    where = f"field #{n}: "
    name = _text(path, entry, "name", where, required=True)
    where = f"field {name!r}: "
    _unknown_keys(path, entry, _FIELD_KEYS, where)
    if not _CODE_RE.match(name):
        raise CatalogError(path, f"{where}name is not lowercase snake_case")
    header = _text(path, entry, "header", where, required=True)
    aliases = _string_list(path, entry, "aliases", where)
    for h in (header, *aliases):
        if normalize_header(h) != h:
            raise CatalogError(
                path,
                f"{where}header {h!r} is not in normalised form; write {normalize_header(h)!r}",
            )
    type_ = _text(path, entry, "type", where, required=True)
    if type_ not in FIELD_TYPES:
        raise CatalogError(
            path, f"{where}unknown type {type_!r}; expected one of {', '.join(FIELD_TYPES)}"
        )
    required = entry.get("required", True)
    if not isinstance(required, bool):
        raise CatalogError(path, f"{where}required must be true or false")

    raw_values = entry.get("values")
    values: dict[str, tuple[str, ...]] = {}
    if type_ == "enum":
        if not isinstance(raw_values, dict) or not raw_values:
            raise CatalogError(path, f"{where}enum field needs values = {{canonical = [...]}}")
        owner: dict[str, str] = {}
        for canonical in raw_values:
            if not canonical.strip():
                raise CatalogError(path, f"{where}empty canonical value")
            spelled = _string_list(path, raw_values, canonical, f"{where}values.")
            values[canonical] = spelled
            for spelling in (canonical, *spelled):
                norm = normalize_value(spelling)
                if owner.get(norm, canonical) != canonical:
                    raise CatalogError(
                        path,
                        f"{where}spelling {spelling!r} is accepted for both "
                        f"{owner[norm]!r} and {canonical!r}",
                    )
                owner[norm] = canonical
    elif raw_values is not None:
        raise CatalogError(path, f"{where}values are only allowed on enum fields (type {type_})")

    return Field(
        name=name,
        header=header,
        type=type_,
        required=required,
        aliases=aliases,
        values=MappingProxyType(values),
    )


def _build_interface(
    path: Path, data: dict[str, Any], departments: Mapping[str, Department]
) -> Interface:
    _unknown_keys(path, data, _INTERFACE_KEYS, "")
    code = _text(path, data, "code", "", required=True)
    if not _CODE_RE.match(code):
        raise CatalogError(path, f"code {code!r} is not lowercase snake_case")
    if code != path.stem:
        raise CatalogError(path, f"code {code!r} does not match the file name {path.stem!r}")
    name = _text(path, data, "name", "", required=True)
    department = _text(path, data, "department", "", required=True)
    if department not in departments:
        raise CatalogError(path, f"unknown department {department!r} (not in {DEPARTMENTS_FILE})")
    description = _text(path, data, "description", "", required=False)

    frequency = _text(path, data, "frequency", "", required=True)
    if frequency not in FREQUENCIES:
        raise CatalogError(
            path, f"unknown frequency {frequency!r}; expected one of {', '.join(FREQUENCIES)}"
        )
    uses = _string_list(path, data, "uses", "")
    if not uses:
        raise CatalogError(path, "uses is empty")
    for use in uses:
        if use not in USES:
            raise CatalogError(path, f"unknown use {use!r}; expected any of {', '.join(USES)}")
    subject = _text(path, data, "subject", "", required=True)
    if subject not in SUBJECTS:
        raise CatalogError(
            path, f"unknown subject {subject!r}; expected one of {', '.join(SUBJECTS)}"
        )

    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise CatalogError(path, "no [[fields]] declared")
    fields = tuple(_build_field(path, entry, n) for n, entry in enumerate(raw_fields, start=1))
    by_name: dict[str, Field] = {}
    header_owner: dict[str, str] = {}
    for f in fields:
        if f.name in by_name:
            raise CatalogError(path, f"duplicate field name {f.name!r}")
        by_name[f.name] = f
        for h in f.headers:
            if h in header_owner:
                raise CatalogError(
                    path,
                    f"header {h!r} is used by both {header_owner[h]!r} and {f.name!r}",
                )
            header_owner[h] = f.name

    def role(key: str, type_: str | None) -> str | None:
        value = _text(path, data, key, "", required=False)
        if not value:
            return None
        if value not in by_name:
            raise CatalogError(path, f"{key} {value!r} is not a declared field")
        f = by_name[value]
        if type_ is not None and f.type != type_:
            raise CatalogError(
                path, f"{key} {value!r} must be a field of type {type_}, not {f.type}"
            )
        if not f.required:
            raise CatalogError(path, f"{key} {value!r} must be a required field")
        return value

    key = _string_list(path, data, "key", "")
    if not key:
        raise CatalogError(path, "key is empty")
    for k in key:
        if k not in by_name:
            raise CatalogError(path, f"key field {k!r} is not a declared field")
        if not by_name[k].required:
            raise CatalogError(path, f"key field {k!r} must be a required field")

    period_field = role("period_field", "date")
    person_field = role("person_field", "id_number")
    name_field = role("name_field", "string")
    area_field = role("area_field", "region_code")
    if subject in ("person", "household"):
        if person_field is None:
            raise CatalogError(path, f"subject {subject} needs person_field")
        if name_field is None:
            raise CatalogError(path, f"subject {subject} needs name_field")
    elif area_field is None:
        raise CatalogError(path, "subject area needs area_field")

    returned_to_towns = _text(path, data, "returned_to_towns", "", required=False) or None
    if (returned_to_towns is not None) != ("return" in uses):
        raise CatalogError(
            path,
            'returned_to_towns must be set exactly when uses contains "return"',
        )

    return Interface(
        code=code,
        name=name,
        department=department,
        description=description,
        frequency=frequency,
        uses=uses,
        key=key,
        subject=subject,
        fields=fields,
        period_field=period_field,
        person_field=person_field,
        name_field=name_field,
        area_field=area_field,
        returned_to_towns=returned_to_towns,
        department_short=departments[department].short,
    )
