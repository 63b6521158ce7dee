"""Household economic-situation verification (居民家庭经济状况核对), DOMAIN.md §7.

With the household's signed authorisation (核对授权书) on record, a clerk runs a verification "as
of" a date: for every member, what the data pool holds on income and assets, each figure with
the department interface, the record, the file and line it came from and its date, and which
figures count. The report shows the *same* figures the classification rules use
(``engine.sweep.build_inputs``, read back from its ``p_members``/``p_households`` tables), itemised:

- income (monthly, yuan): wages = the personal income tax feed's wage and labour lines of the
  last 12 months, averaged over the months with a line, counted only if the latest is within
  3 months; pensions = the payments of the last 3 months, averaged by type (employee pensions;
  the residents' basic pension, which is not counted for 特困, DOMAIN.md §3); the latest
  declaration counts only for the part no department evidences;
- income that the policy does not count (DOMAIN.md §5): old-age allowance (高龄津贴), the two
  disability subsidies (残疾人两项补贴), 优抚 benefits, family-planning special support (计生特扶),
  student aid (助学金/奖学金), and social-assistance payments themselves (低保, 特困, 临时救助,
  住房救助): shown, marked "not counted";
- income the current rules do not yet use (net business and property income from the tax feed,
  unemployment insurance, agricultural subsidies): shown for the verifier, marked
  "not in the rules" rather than silently dropped;
- assets: the latest balance of every bank and securities account queried in the last 12 months
  (earlier queries of the same account shown as superseded), vehicles (disability vehicles
  exempt, cancelled/scrapped ones not counted), current residential real estate, active business
  registrations; ships and insurance cash values shown for reference;
- rigid spending (刚性支出) of the last 12 months: self-paid medical and rehabilitation costs;
- context rows (housing provident fund, public housing, purchase contracts).

A department that holds nothing for a member is itself a finding ("no record in interface X"),
unless the interface never received any data, which is reported as such (not a finding).

An authorisation is valid for a verification whose as-of date is on or after the day it was
signed and less than 12 months after it (``AUTHORISATION_VALID_MONTHS``): the 低保 procedure asks
for the authorisation at application (民发〔2021〕57号) and stable households are reviewed
yearly, so a household re-signs at least once a year; a verification as of a date before the
signature is refused (the household had not yet agreed to the query).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from doudi.core.audit import audit_record
from doudi.core.models import Role, User
from doudi.policy.models import Authorisation, Verification

if TYPE_CHECKING:
    from doudi.registry.models import Household

#: roles that may record authorisations and run verifications (within their jurisdiction)
CAN_VERIFY = frozenset({Role.TOWN_CLERK, Role.COUNTY_APPROVER, Role.CITY_ADMIN})
#: an authorisation covers verifications as of dates up to this many months after signing
AUTHORISATION_VALID_MONTHS = 12
MAX_SCAN_BYTES = 10 * 1024 * 1024
#: accepted scan formats: extension -> (content type, leading bytes)
SCAN_FORMATS: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
}

# --------------------------------------------------------------------------- labels

SECTION_LABELS = {
    "income": "收入",
    "excluded": "不计入收入的项目",
    "asset": "财产",
    "expense": "刚性支出",
    "context": "其他参考信息",
}
KIND_LABELS = {
    "wage": "工资性收入",
    "business": "经营净收入",
    "property": "财产净收入",
    "transfer": "转移净收入",
    "pension": "养老金",
    "basic_pension": "城乡居民基础养老金",
    "declared": "申报收入",
    "other": "其他收入",
    "old_age_allowance": "高龄津贴",
    "disability_subsidy": "残疾人两项补贴",
    "veterans_benefit": "优抚金",
    "family_planning_special": "计生特扶金",
    "student_aid": "学生资助",
    "dibao": "低保金",
    "tekun": "特困供养金",
    "temporary_assistance": "临时救助金",
    "housing_assistance": "住房救助",
    "deposit": "存款及理财",
    "securities": "证券",
    "insurance": "商业保险现金价值",
    "vehicle": "机动车",
    "real_estate": "房产",
    "business_entity": "市场主体",
    "vessel": "渔船",
    "medical": "医疗自付费用",
    "rehab": "康复自付费用",
    "provident_fund": "住房公积金",
    "public_housing": "公租房保障",
    "housing_contract": "购房网签",
}
STATUS_LABELS = {
    "counted": "计入",
    "excluded": "不计入（政策规定）",
    "not_in_rules": "未计入（现行认定规则不含此项，供参考）",
    "stale": "未计入（最近一笔早于近3个月）",
    "superseded": "未计入（已被该账户后一次查询取代）",
    "exempt": "未计入（残疾人专用车豁免）",
    "cancelled": "未计入（已注销、报废或非存续）",
    "non_residential": "未计入（非住宅）",
    "covered": "未计入（已由部门数据证实，不重复计入）",
    "context": "参考",
}
#: the rules' monthly income types (p_members columns), in report order
MONTHLY_TYPES = (
    ("wage", "inc_wage"),
    ("business", "inc_business"),
    ("property", "inc_property"),
    ("transfer", "inc_transfer"),
    ("pension", "inc_pension"),
    ("basic_pension", "inc_basic_pension"),
    ("declared", "inc_declared"),
)
#: member statuses the rules do not count as household members (01_members.sql)
NOT_COUNTED_STATUSES = frozenset({"prison", "drug_rehab", "missing", "clergy_apart", "dead"})
MEMBER_STATUS_LABELS = {
    "present": "在册",
    "dead": "死亡",
    "missing": "宣告失踪",
    "prison": "服刑",
    "drug_rehab": "强制隔离戒毒",
    "clergy_apart": "宗教教职人员（分居）",
}
RELATION_LABELS = {
    "head": "户主",
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "grandchild": "孙子女",
    "grandparent": "祖父母",
    "sibling": "兄弟姐妹",
    "other": "其他",
}
WINDOW_LABELS = {"12m": "近12个月", "3m": "近3个月", "to_date": "截至核对基准日"}


# --------------------------------------------------------------------------- the sources


@dataclass(frozen=True)
class Source:
    """One interface queried, and how its rows become findings.

    SQL fragments are written against the interface's current view; ``d`` is the as-of date,
    ``y12`` and ``m3`` the starts of the 12-month and 3-month windows (exclusive), exactly as in
    ``engine.sweep``. ``status`` is an SQL expression giving a ``STATUS_LABELS`` code.
    """

    interface: str
    section: str
    date_field: str
    window: str  # "12m" | "3m" | "to_date"
    kind: str  # SQL expression giving a KIND_LABELS code
    amount: str  # SQL expression: the figure (yuan, or m² when unit == "m2")
    status: str
    label_field: str | None = None  # an enum field whose label names the item
    detail: str = "NULL"  # SQL expression: a short description
    where: str = ""
    unit: str = "yuan"


_LATEST = (
    "CASE WHEN row_number() OVER (PARTITION BY person_id, {key} ORDER BY {date} DESC, "
    "_ingest DESC, _line DESC) = 1 THEN '{latest}' ELSE 'superseded' END"
)
_WAGE_CURRENT = (
    "max(CASE WHEN income_item IN ('wage', 'labor') THEN date_trunc('month', period_start) END) "
    "OVER (PARTITION BY person_id) > {m3} - INTERVAL 1 MONTH"
)

SOURCES: tuple[Source, ...] = (
    # ---- income the rules count, and income they do not yet use
    Source(
        "tax_income",
        "income",
        "period_start",
        "12m",
        kind="CASE WHEN income_item IN ('wage', 'labor') THEN 'wage' "
        "WHEN income_item = 'business' THEN 'business' "
        "WHEN income_item IN ('investment', 'property_lease', 'property_transfer') "
        "THEN 'property' ELSE 'other' END",
        amount="income",
        status="CASE WHEN income_item IN ('wage', 'labor') THEN "
        f"(CASE WHEN {_WAGE_CURRENT} THEN 'counted' ELSE 'stale' END) "
        "WHEN income_item IN ('business', 'investment', 'property_lease', 'property_transfer') "
        "THEN 'counted' ELSE 'not_in_rules' END",
        label_field="income_item",
        detail="withholding_agent",
    ),
    Source(
        "pension_payment",
        "income",
        "payment_date",
        "3m",
        kind="CASE WHEN pension_type = 'resident' THEN 'basic_pension' ELSE 'pension' END",
        amount="amount",
        status="'counted'",
        label_field="pension_type",
        detail="agency",
    ),
    Source(
        "unemployment_insurance",
        "income",
        "payment_date",
        "3m",
        kind="'transfer'",
        amount="amount",
        status="'counted'",
        detail="'失业保险金'",
    ),
    Source(
        "agri_subsidy",
        "income",
        "payment_date",
        "12m",
        kind="'transfer'",
        amount="amount",
        status="'not_in_rules'",
        detail="subsidy_type",
    ),
    # ---- income the policy does not count (DOMAIN.md §5)
    Source(
        "old_age_allowance",
        "excluded",
        "payment_date",
        "3m",
        kind="'old_age_allowance'",
        amount="amount",
        status="'excluded'",
        label_field="age_band",
    ),
    Source(
        "disability_subsidy",
        "excluded",
        "payment_date",
        "3m",
        kind="'disability_subsidy'",
        amount="amount",
        status="'excluded'",
        label_field="subsidy_type",
    ),
    Source(
        "veterans_benefit",
        "excluded",
        "start_date",
        "to_date",
        kind="'veterans_benefit'",
        amount="monthly_amount",
        status="'excluded'",
        label_field="category",
        where="coalesce(status, 'active') = 'active'",
    ),
    Source(
        "family_planning_special",
        "excluded",
        "confirmed_date",
        "to_date",
        kind="'family_planning_special'",
        amount="monthly_allowance",
        status="'excluded'",
        label_field="family_type",
        where="coalesce(status, 'active') = 'active'",
    ),
    Source(
        "student_aid",
        "excluded",
        "aid_date",
        "12m",
        kind="'student_aid'",
        amount="amount",
        status="'excluded'",
        label_field="aid_type",
        detail="school",
    ),
    Source(
        "dibao_roll",
        "excluded",
        "roll_date",
        "3m",
        kind="'dibao'",
        amount="monthly_amount",
        status="'excluded'",
        label_field="status",
    ),
    Source(
        "tekun_roll",
        "excluded",
        "roll_date",
        "3m",
        kind="'tekun'",
        amount="coalesce(basic_amount, 0) + coalesce(care_amount, 0)",
        status="'excluded'",
        label_field="support_mode",
    ),
    Source(
        "temporary_assistance",
        "excluded",
        "approval_date",
        "12m",
        kind="'temporary_assistance'",
        amount="amount",
        status="'excluded'",
        label_field="assistance_type",
        detail="reason",
    ),
    Source(
        "housing_subsidy",
        "excluded",
        "approval_date",
        "12m",
        kind="'housing_assistance'",
        amount="amount",
        status="'excluded'",
        label_field="assistance_type",
    ),
    # ---- assets
    Source(
        "bank_deposit",
        "asset",
        "query_date",
        "12m",
        kind="'deposit'",
        amount="balance",
        status=_LATEST.format(
            key="institution, account_number, asset_type", date="query_date", latest="counted"
        ),
        label_field="asset_type",
        detail="institution || ' 账号尾号' || right(account_number, 4)",
    ),
    Source(
        "securities",
        "asset",
        "query_date",
        "12m",
        kind="'securities'",
        amount="market_value",
        status=_LATEST.format(
            key="institution, account_number, asset_type", date="query_date", latest="counted"
        ),
        label_field="asset_type",
        detail="institution || ' 账号尾号' || right(account_number, 4)",
    ),
    Source(
        "commercial_insurance",
        "asset",
        "query_date",
        "12m",
        kind="'insurance'",
        amount="cash_value",
        status="CASE WHEN role <> 'policyholder' THEN 'context' "
        "WHEN status = 'terminated' THEN 'cancelled' ELSE "
        + _LATEST.format(
            key="institution, policy_number, role", date="query_date", latest="counted"
        )
        + " END",
        label_field="product_type",
        detail="institution || ' 保单尾号' || right(policy_number, 4)",
    ),
    Source(
        "vehicle_registration",
        "asset",
        "registration_date",
        "to_date",
        kind="'vehicle'",
        amount="vehicle_value",
        status="CASE WHEN coalesce(disability_vehicle, FALSE) THEN 'exempt' "
        "WHEN coalesce(status, '') SIMILAR TO '.*(注销|报废|转出).*' THEN 'cancelled' "
        "ELSE 'counted' END",
        detail="plate_number || ' ' || coalesce(brand_model, vehicle_type, '')",
    ),
    Source(
        "real_estate",
        "asset",
        "registration_date",
        "to_date",
        kind="'real_estate'",
        amount="floor_area",
        status="CASE WHEN status IS DISTINCT FROM 'current' THEN 'cancelled' "
        "WHEN coalesce(usage, '住宅') LIKE '%住%' THEN 'counted' ELSE 'non_residential' END",
        detail="location || coalesce('（' || usage || '）', '')",
        unit="m2",
    ),
    Source(
        "business_registration",
        "asset",
        "established_date",
        "to_date",
        kind="'business_entity'",
        amount="NULL",
        status="CASE WHEN status = 'active' THEN 'counted' ELSE 'cancelled' END",
        label_field="status",
        detail="entity_name",
    ),
    Source(
        "fishing_vessel",
        "asset",
        "registration_date",
        "to_date",
        kind="'vessel'",
        amount="vessel_value",
        status="CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'counted' END",
        detail="vessel_number || ' ' || vessel_type",
    ),
    # ---- rigid spending of the last 12 months
    Source(
        "medical_inpatient",
        "expense",
        "discharge_date",
        "12m",
        kind="'medical'",
        amount="self_paid",
        status="'counted'",
        detail="institution",
    ),
    Source(
        "medical_outpatient",
        "expense",
        "settlement_date",
        "12m",
        kind="'medical'",
        amount="self_paid",
        status="'counted'",
        detail="institution",
    ),
    Source(
        "disability_rehab",
        "expense",
        "start_date",
        "12m",
        kind="'rehab'",
        amount="self_paid",
        status="'counted'",
        detail="institution",
    ),
    # ---- context
    Source(
        "provident_fund",
        "context",
        "business_date",
        "12m",
        kind="'provident_fund'",
        amount="balance",
        status=_LATEST.format(key="account_number", date="business_date", latest="context"),
        detail="coalesce(employer, '') || coalesce(' 缴存基数 ' || CAST(deposit_base AS VARCHAR), '')",
    ),
    Source(
        "public_housing",
        "context",
        "start_date",
        "to_date",
        kind="'public_housing'",
        amount="coalesce(monthly_subsidy, monthly_rent)",
        status="'context'",
        label_field="security_type",
        detail="address",
        where="status = 'active'",
    ),
    Source(
        "housing_contract",
        "context",
        "signing_date",
        "12m",
        kind="'housing_contract'",
        amount="price",
        status="'context'",
        detail="location",
    ),
)


# --------------------------------------------------------------------------- permissions


def can_verify(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in CAN_VERIFY)


def _check_actor(actor: User, household: Household) -> None:
    """The actor's role may verify and the household is in their jurisdiction."""
    from doudi.registry.selectors import household_get_for_user

    if not can_verify(actor):
        raise PermissionDenied("无权办理家庭经济状况核对 / not allowed to verify households")
    try:
        household_get_for_user(user=actor, household_id=household.pk)
    except Http404:
        raise PermissionDenied(
            "该家庭不在您的辖区内 / household outside your jurisdiction"
        ) from None


# --------------------------------------------------------------------------- authorisation


def authorisation_valid_from(as_of: dt.date) -> dt.date:
    """The earliest signing date still valid for a verification as of ``as_of`` (exclusive
    bound: signed *after* the same day 12 months earlier)."""
    months = as_of.year * 12 + as_of.month - 1 - AUTHORISATION_VALID_MONTHS
    year, month = divmod(months, 12)
    month += 1
    day = min(as_of.day, _days_in_month(year, month))
    return dt.date(year, month, day)


def _days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).day


def authorisation_valid_for(*, household_id: int, as_of: dt.date) -> Authorisation | None:
    """The most recent authorisation of the household that covers a verification as of
    ``as_of``: signed on or before it, and less than 12 months before it."""
    return (
        Authorisation.objects.filter(
            household_id=household_id,
            signed_on__lte=as_of,
            signed_on__gt=authorisation_valid_from(as_of),
        )
        .order_by("-signed_on", "-id")
        .first()
    )


def _check_scan(scan: UploadedFile | None) -> tuple[str, str]:
    """Validate the scan; returns (sha256, extension)."""
    if scan is None or not scan.name:
        raise ValidationError(
            "请上传签字授权书的扫描件 / the scanned signed authorisation is required",
            code="scan_required",
        )
    ext = os.path.splitext(scan.name)[1].lower()
    if ext not in SCAN_FORMATS:
        raise ValidationError(
            f"扫描件只能是 PDF、JPG 或 PNG 文件（收到 {ext or '无扩展名'}）/ "
            "the scan must be a PDF, JPG or PNG file",
            code="scan_type",
        )
    size = scan.size or 0
    if size > MAX_SCAN_BYTES:
        raise ValidationError(
            f"扫描件 {size / 1024 / 1024:.1f} MB，超过 10 MB 上限，请降低分辨率后重新上传 / "
            "the scan is larger than 10 MB",
            code="scan_size",
        )
    if size == 0:
        raise ValidationError("扫描件是空文件 / the scan is empty", code="scan_empty")
    digest = hashlib.sha256()
    head = b""
    scan.seek(0)
    for chunk in scan.chunks():
        if len(head) < 16:
            head += chunk[:16]
        digest.update(chunk)
    scan.seek(0)
    if not head.startswith(SCAN_FORMATS[ext][1]):
        raise ValidationError(
            f"文件内容不是 {ext[1:].upper()} 格式，请上传扫描得到的原始文件 / "
            f"the file's content is not {ext[1:].upper()}",
            code="scan_content",
        )
    return digest.hexdigest(), ".jpg" if ext == ".jpeg" else ext


def authorisation_record(
    *,
    actor: User,
    household: Household,
    signed_by: str,
    signed_on: dt.date,
    scan: UploadedFile | None,
) -> Authorisation:
    """Record the household's signed authorisation to query its economic situation.

    The scan (PDF, JPG or PNG, at most 10 MB, content checked against the extension) is stored
    under a name made of the household and the file's SHA-256 (never the uploaded name, which
    often carries a person's name); the digest is kept to show later that the file is unchanged.
    """
    _check_actor(actor, household)
    signed_by = " ".join((signed_by or "").split())
    if not signed_by:
        raise ValidationError(
            "请填写签署人（所有成年家庭成员）/ who signed is required", code="signed_by"
        )
    if len(signed_by) > 200:
        raise ValidationError("签署人过长（最多200字）/ at most 200 characters", code="signed_by")
    today = timezone.localdate()
    if signed_on > today:
        raise ValidationError(
            f"签署日期 {signed_on.isoformat()} 晚于今天，请核对 / the signing date is in the future",
            code="signed_on",
        )
    digest, ext = _check_scan(scan)
    assert scan is not None
    if Authorisation.objects.filter(household=household, scan_sha256=digest).exists():
        raise ValidationError(
            "该扫描件已为本家庭登记过，无需重复登记 / this scan is already recorded for the household",
            code="scan_duplicate",
        )
    scan.name = f"hh{household.pk}-{digest[:16]}{ext}"
    with transaction.atomic():
        auth = Authorisation(
            household=household,
            signed_by=signed_by,
            signed_on=signed_on,
            scan_sha256=digest,
            recorded_by=actor,
        )
        auth.scan.save(scan.name, scan, save=False)
        try:
            auth.save()
            audit_record(
                actor=actor,
                event="policy.authorisation_record",
                subject_type="household",
                subject_id=household.pk,
                subject_label=household.number,
                region_code=household.region_id,
                new={
                    "authorisation": auth.pk,
                    "signed_by": signed_by,
                    "signed_on": signed_on,
                    "scan_sha256": digest,
                },
            )
        except Exception:
            auth.scan.delete(save=False)
            raise
    return auth


def authorisation_scan_open(*, user: User, authorisation_id: int) -> Authorisation:
    """The authorisation (for its scan) if its household is in the user's jurisdiction, else 404;
    the view of the scan is audited."""
    from doudi.registry.selectors import household_get_for_user

    try:
        auth = Authorisation.objects.select_related("household").get(pk=authorisation_id)
    except Authorisation.DoesNotExist:
        raise Http404 from None
    household = household_get_for_user(user=user, household_id=auth.household_id)
    audit_record(
        actor=user,
        event="policy.authorisation_scan_view",
        subject_type="household",
        subject_id=household.pk,
        subject_label=household.number,
        region_code=household.region_id,
        new={"authorisation": auth.pk},
    )
    return auth


# --------------------------------------------------------------------------- findings


def _date_sql(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


def _money(value: Any) -> str | None:
    if value is None:
        return None
    return str(Decimal(value).quantize(Decimal("0.01")))


def _fen(value: Any) -> str | None:
    if value is None:
        return None
    return str((Decimal(int(value)) / 100).quantize(Decimal("0.01")))


def _when(value: Any) -> str | None:
    """A received-at timestamp in local time, ``2025-03-02 14:05``."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = value.replace(tzinfo=dt.UTC)
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def _enum_labels(interface: Any, field_name: str | None) -> dict[str, str]:
    if not field_name:
        return {}
    field = interface.field(field_name)
    return {k: (v[0] if v else k) for k, v in field.values.items()}


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def findings_gather(
    con: duckdb.DuckDBPyConnection, *, household_id: int, as_of: dt.date
) -> dict[str, Any]:
    """Everything the pool holds on the household's members as of ``as_of``, itemised with its
    provenance, and the figures the rules use (JSON-ready: amounts as strings of yuan).

    ``con`` is a pool connection with the ``declarations`` view (``services._pool_with_declarations``).
    The rule inputs for the household are built on it (temp tables ``p_members``, ``p_households``).
    """
    from doudi.datapool.catalog import load_catalog
    from doudi.policy.engine import sweep
    from doudi.registry.selectors import household_members

    catalog = load_catalog()
    d = _date_sql(as_of)
    y12 = f"({d} - INTERVAL 12 MONTH)"
    m3 = f"({d} - INTERVAL 3 MONTH)"
    starts = con.execute(f"SELECT CAST({y12} AS DATE) + 1, CAST({m3} AS DATE) + 1").fetchall()[0]
    windows = {
        "12m": {
            "from": starts[0].isoformat(),
            "to": as_of.isoformat(),
            "label": WINDOW_LABELS["12m"],
        },
        "3m": {
            "from": starts[1].isoformat(),
            "to": as_of.isoformat(),
            "label": WINDOW_LABELS["3m"],
        },
        "to_date": {"from": None, "to": as_of.isoformat(), "label": WINDOW_LABELS["to_date"]},
    }

    # the rule inputs, built exactly as the sweep builds them
    sweep.build_inputs(con, as_of, household_ids=[household_id])
    people = _rows(
        con,
        "SELECT s.person_id, s.relation, s.status, r.name FROM sw_people s "
        "JOIN registry_persons r USING (person_id) ORDER BY s.person_id",
    )
    rule_members = {r["id_number"]: r for r in _rows(con, "SELECT * FROM p_members")}
    hh_rows = _rows(con, "SELECT * FROM p_households")
    rule_household = hh_rows[0] if hh_rows else None

    from doudi.registry.models import Household

    household = Household.objects.filter(pk=household_id).first()
    registry = {m.person_id: m for m in household_members(household=household)} if household else {}

    ids = [int(p["person_id"]) for p in people]
    id_list = ", ".join(str(i) for i in ids) or "NULL"
    window_where = {
        "12m": lambda f: f"{f} <= {d} AND {f} > {y12}",
        "3m": lambda f: f"{f} <= {d} AND {f} > {m3}",
        "to_date": lambda f: f"{f} <= {d}",
    }

    # freshness of every interface queried (latest file received)
    fresh_sql = " UNION ALL ".join(
        f"SELECT '{s.interface}' AS code, max(_received_at) AS last, count(*) AS n "
        f"FROM {s.interface}_all"
        for s in SOURCES
    )
    freshness = {r["code"]: r for r in _rows(con, fresh_sql)}

    items_by_person: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    interfaces = []
    for s in SOURCES:
        interface = catalog.get(s.interface)
        labels = _enum_labels(interface, s.label_field)
        where = window_where[s.window](s.date_field)
        if s.where:
            where += f" AND ({s.where})"
        label_col = s.label_field or "NULL"
        sql = f"""
            SELECT * FROM (
                SELECT person_id, {s.kind} AS kind, CAST({label_col} AS VARCHAR) AS label_code,
                       CAST({s.detail} AS VARCHAR) AS detail, {s.amount} AS amount,
                       {s.date_field} AS day, {s.status.replace("{m3}", m3)} AS status,
                       record_key, _file, _line,
                       _received_at, link_method
                FROM {s.interface}
                WHERE person_id IN ({id_list}) AND {where}
            ) ORDER BY person_id, day DESC, _file, _line
        """
        rows = _rows(con, sql) if ids else []
        for r in rows:
            status = r["status"]
            counted = status == "counted"
            item = {
                "section": s.section,
                "kind": r["kind"],
                "kind_label": KIND_LABELS.get(r["kind"], r["kind"]),
                "label": labels.get(r["label_code"] or "", r["label_code"] or ""),
                "detail": r["detail"] or "",
                "amount": _money(r["amount"]),
                "unit": s.unit,
                "date": r["day"].isoformat() if r["day"] else None,
                "status": status,
                "status_label": STATUS_LABELS.get(status, status),
                "counted": counted,
                "interface": s.interface,
                "interface_name": interface.label,
                "record_key": r["record_key"],
                "file": r["_file"],
                "line": r["_line"],
                "received_at": _when(r["_received_at"]),
                "link_method": r["link_method"],
            }
            if s.section == "income":
                # for 特困 the residents' basic pension is not counted (DOMAIN.md §3)
                item["counted_tekun"] = counted and r["kind"] != "basic_pension"
            items_by_person[int(r["person_id"])].append(item)
        fresh = freshness.get(s.interface, {})
        interfaces.append(
            {
                "code": s.interface,
                "name": interface.label,
                "section": s.section,
                "section_label": SECTION_LABELS[s.section],
                "window": s.window,
                "window_label": WINDOW_LABELS[s.window],
                "received_rows": int(fresh.get("n") or 0),
                "last_received": _when(fresh.get("last")),
                "found": len(rows),
            }
        )

    # the household's own declarations (本系统的家庭收入申报)
    declared = {
        int(r["person_id"]): r
        for r in (
            _rows(
                con,
                f"SELECT person_id, arg_max(monthly_fen, declared_on) AS fen, "
                f"max(declared_on) AS day FROM declarations "
                f"WHERE declared_on <= {d} AND person_id IN ({id_list}) GROUP BY person_id",
            )
            if ids
            else []
        )
    }

    members = []
    totals_monthly = {t: Decimal(0) for t, _ in MONTHLY_TYPES}
    income_counted_total = Decimal(0)
    for p in people:
        pid = int(p["person_id"])
        rule = rule_members.get(str(pid)) or {}
        membership = registry.get(pid)
        items = items_by_person[pid]
        decl = declared.get(pid)
        if decl is not None:
            part = int(rule.get("inc_declared") or 0)
            items.append(
                {
                    "section": "income",
                    "kind": "declared",
                    "kind_label": KIND_LABELS["declared"],
                    "label": "家庭收入申报（月收入）",
                    "detail": f"计入未被部门数据证实的部分 ¥{Decimal(part) / 100:,.2f}"
                    if part
                    else "",
                    "amount": _fen(decl["fen"]),
                    "unit": "yuan",
                    "date": decl["day"].isoformat(),
                    "status": "counted" if part else "covered",
                    "status_label": STATUS_LABELS["counted" if part else "covered"],
                    "counted": bool(part),
                    "counted_tekun": bool(part),
                    "interface": "declaration",
                    "interface_name": "本系统·家庭收入申报",
                    "record_key": None,
                    "file": None,
                    "line": None,
                    "received_at": None,
                    "link_method": None,
                }
            )
        in_household = p["status"] not in NOT_COUNTED_STATUSES
        monthly = {t: _fen(rule.get(col) or 0) for t, col in MONTHLY_TYPES}
        total = sum((Decimal(v) for v in monthly.values() if v), Decimal(0))
        total_tekun = total - Decimal(monthly["basic_pension"] or 0)
        if in_household and rule:
            for t, _col in MONTHLY_TYPES:
                totals_monthly[t] += Decimal(monthly[t] or 0)
            income_counted_total += total
        found_codes = {i["interface"] for i in items}
        none_found = [
            {
                "interface": s.interface,
                "interface_name": catalog.get(s.interface).label,
                "section_label": SECTION_LABELS[s.section],
                "window_label": WINDOW_LABELS[s.window],
                "received": bool((freshness.get(s.interface) or {}).get("n")),
            }
            for s in SOURCES
            if s.interface not in found_codes
        ]
        members.append(
            {
                "person_id": pid,
                "name": p["name"],
                "relation": p["relation"],
                "relation_label": RELATION_LABELS.get(p["relation"] or "", p["relation"] or ""),
                "masked_id": membership.person.masked_id if membership else "",
                "status": p["status"],
                "status_label": MEMBER_STATUS_LABELS.get(p["status"], p["status"]),
                "in_household": in_household,
                "income_known": rule.get("income_known"),
                "monthly": monthly,
                "monthly_total": str(total.quantize(Decimal("0.01"))),
                "monthly_total_tekun": str(total_tekun.quantize(Decimal("0.01"))),
                "sections": {
                    sec: [i for i in items if i["section"] == sec] for sec in SECTION_LABELS
                },
                "none_found": none_found,
            }
        )

    totals = _household_totals(members, rule_household)
    totals["monthly"] = {t: str(v.quantize(Decimal("0.01"))) for t, v in totals_monthly.items()}
    totals["monthly_income"] = str(income_counted_total.quantize(Decimal("0.01")))
    return {
        "household_id": household_id,
        "as_of": as_of.isoformat(),
        "windows": windows,
        "members": members,
        "totals": totals,
        "interfaces": interfaces,
        "labels": {"kinds": KIND_LABELS, "sections": SECTION_LABELS},
    }


def _household_totals(members: list[dict[str, Any]], rule: dict[str, Any] | None) -> dict[str, Any]:
    """The asset and spending figures the rules use, and the sums of the itemised findings (which
    must agree; a difference is reported, not hidden)."""

    def items(section: str, kind: str | tuple[str, ...]) -> list[dict[str, Any]]:
        kinds = (kind,) if isinstance(kind, str) else kind
        return [
            i
            for m in members
            for i in m["sections"][section]
            if i["kind"] in kinds and i["counted"]
        ]

    def total(found: list[dict[str, Any]]) -> Decimal:
        return sum((Decimal(i["amount"]) for i in found if i["amount"]), Decimal(0))

    fin_items = total(items("asset", ("deposit", "securities", "insurance")))
    medical_items = total(items("expense", "medical"))
    rehab_items = total(items("expense", "rehab"))
    out: dict[str, Any] = {
        "financial_itemised": str(fin_items.quantize(Decimal("0.01"))),
        "deposits": str(total(items("asset", "deposit")).quantize(Decimal("0.01"))),
        "securities": str(total(items("asset", "securities")).quantize(Decimal("0.01"))),
        "insurance": str(total(items("asset", "insurance")).quantize(Decimal("0.01"))),
        "vehicles_itemised": len(items("asset", ("vehicle", "vessel"))),
        "dwellings_itemised": len(items("asset", "real_estate")),
        "businesses_itemised": len(items("asset", "business_entity")),
        "rigid_medical_itemised": str(medical_items.quantize(Decimal("0.01"))),
        "rigid_rehab_itemised": str(rehab_items.quantize(Decimal("0.01"))),
        "members": len(members),
        "members_in_household": sum(1 for m in members if m["in_household"]),
        "mismatches": [],
    }
    if rule is None:
        out.update(financial=None, vehicles=None, dwellings=None, business=None)
        return out
    out.update(
        financial=_fen(rule["fin_fen"]),
        vehicles=int(rule["vehicles"]),
        dwellings=int(rule["dwellings"]),
        business=bool(rule["business"]),
        rigid_medical=_fen(rule["rigid_medical_fen"]),
        rigid_rehab=_fen(rule["rigid_rehab_fen"]),
    )
    checks = (
        ("金融资产", out["financial"], out["financial_itemised"]),
        ("机动车", str(out["vehicles"]), str(out["vehicles_itemised"])),
        ("住房", str(out["dwellings"]), str(out["dwellings_itemised"])),
        ("医疗自付", out["rigid_medical"], out["rigid_medical_itemised"]),
        ("康复自付", out["rigid_rehab"], out["rigid_rehab_itemised"]),
    )
    for label, rule_value, itemised in checks:
        if rule_value != itemised:
            out["mismatches"].append(
                f"{label}：认定规则使用 {rule_value}，明细合计 {itemised}，请人工复核"
            )
    if out["business"] != (out["businesses_itemised"] > 0):
        out["mismatches"].append("市场主体：认定规则与明细不一致，请人工复核")
    return out


# --------------------------------------------------------------------------- running it


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def verification_run(*, actor: User, household: Household, as_of: dt.date) -> Verification:
    """Verify the household's economic situation as of ``as_of`` and store the report.

    Refused without an authorisation valid for that date (see the module docstring), for a date
    in the future, or outside the actor's role or jurisdiction. The findings come from the pool,
    the classification from ``household_assessment`` on the same date; both are stored with the
    policy version, and the audit row is written in the same transaction.
    """
    from doudi.policy import selectors
    from doudi.policy.assessment import household_assessment
    from doudi.policy.services import _pool_with_declarations

    _check_actor(actor, household)
    if as_of > timezone.localdate():
        raise ValidationError(
            f"核对基准日 {as_of.isoformat()} 晚于今天 / the verification date is in the future",
            code="as_of",
        )
    auth = authorisation_valid_for(household_id=household.pk, as_of=as_of)
    if auth is None:
        raise ValidationError(
            f"没有 {as_of.isoformat()} 有效的核对授权书（须在基准日当天或之前、12个月以内签署），"
            "请先登记家庭成员签字的授权书 / no signed authorisation valid on that date "
            "(signed on or before it, within 12 months): record one first",
            code="no_authorisation",
        )
    tree = selectors.parameter_tree()
    con = _pool_with_declarations()
    try:
        findings = findings_gather(con, household_id=household.pk, as_of=as_of)
    finally:
        con.close()
    assessment = household_assessment(household_id=household.pk, as_of=as_of, tree=tree)
    stored_assessment = _json_safe(
        {
            "result": assessment.result,
            "categories": assessment.categories,
            "tier_label": assessment.tier_label,
            "why_not": assessment.why_not,
        }
    )
    version = (assessment.result or {}).get("policy_version") or tree.version(as_of)
    with transaction.atomic():
        verification = Verification.objects.create(
            household=household,
            authorisation=auth,
            as_of=as_of,
            requested_by=actor,
            findings=_json_safe(findings),
            assessment=stored_assessment,
            policy_version=version,
        )
        audit_record(
            actor=actor,
            event="policy.verify",
            subject_type="household",
            subject_id=household.pk,
            subject_label=household.number,
            region_code=household.region_id,
            new={
                "verification": verification.pk,
                "as_of": as_of,
                "authorisation": auth.pk,
                "policy_version": version,
                "categories": (assessment.result or {}).get("household_categories", []),
            },
        )
    return verification


def verification_view_record(*, user: User, verification: Verification, pdf: bool = False) -> None:
    """Audit a view (or a PDF download) of a verification report."""
    household = verification.household
    audit_record(
        actor=user,
        event="policy.verification_pdf" if pdf else "policy.verification_view",
        subject_type="verification",
        subject_id=verification.pk,
        subject_label=household.number,
        region_code=household.region_id,
        new={"household": household.pk, "as_of": verification.as_of},
    )
