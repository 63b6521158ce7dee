"""Household economic-situation verification: authorisation, findings with provenance, the run,
the report page and its PDF."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from doudi.core.models import AuditEvent
from doudi.datapool.catalog import load_catalog
from doudi.datapool.ingest import IngestOptions, ingest_file
from doudi.policy import verification as vf
from doudi.policy.models import Authorisation, Verification
from tests.conftest import make_id
from tests.datapool.conftest import csv_text

pytestmark = pytest.mark.django_db

ZENG = make_id("370611", "19500101", 11)  # 曾小明, head, 清洋街道
LI = make_id("370611", "19520304", 22)  # 李秀英, spouse
AS_OF = dt.date(2025, 6, 30)
PDF_BYTES = b"%PDF-1.4\n% scan of the signed authorisation\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media_dir(settings, tmp_path, pool_dir):
    """Scans go to the test's own media dir (the data dir comes from tests/policy/conftest.py)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def feed(tmp_path, code: str, rows: list[dict[str, str]], name: str | None = None):
    """Ingest ``rows`` (field name -> value) into the pool as a CSV file of interface ``code``,
    with the interface's mandated headers."""
    interface = load_catalog().get(code)
    fields = [f for f in interface.fields if f.required or any(f.name in r for r in rows)]
    header = [f.header for f in fields]
    body = [[r.get(f.name, "") for f in fields] for r in rows]
    path = tmp_path / (name or f"{code}.csv")
    path.write_text(csv_text(header, body), encoding="utf-8")
    result = ingest_file(code, path, options=IngestOptions(probabilistic=False))
    assert result.quarantined == 0, result.summary()
    return result


@pytest.fixture
def pool(tmp_path, town_households):
    """The 清洋 household's members in a few departments' feeds."""
    wages = [
        {
            "id_number": ZENG,
            "name": "曾小明",
            "income_item": "wage",
            "period_start": f"2025-{m:02d}-01",
            "income": "3000",
            "tax_paid": "0",
            "withholding_agent": "烟台某机械厂",
        }
        for m in range(1, 7)
    ]
    wages += [
        # a labour fee in June: the month's wage income is 3,600
        {**wages[0], "income_item": "labor", "period_start": "2025-06-01", "income": "600"},
        # outside the 12 months: not queried
        {**wages[0], "period_start": "2024-05-01", "income": "9999"},
        # business income: counted as the last 12 months' total / 12
        {**wages[0], "income_item": "business", "period_start": "2025-03-01", "income": "500"},
    ]
    feed(tmp_path, "tax_income", wages, "个税2025.csv")
    pension = {"id_number": LI, "name": "李秀英", "pension_type": "enterprise"}
    feed(
        tmp_path,
        "pension_payment",
        [
            {**pension, "payment_date": "2025-03-15", "amount": "1900"},  # before the 3 months
            {**pension, "payment_date": "2025-04-15", "amount": "2000"},
            {**pension, "payment_date": "2025-05-15", "amount": "2000"},
            {**pension, "payment_date": "2025-06-15", "amount": "2100"},
            {**pension, "pension_type": "resident", "payment_date": "2025-06-15", "amount": "150"},
        ],
    )
    bank = {"id_number": ZENG, "name": "曾小明", "institution": "烟台银行", "asset_type": "demand"}
    feed(
        tmp_path,
        "bank_deposit",
        [
            {
                **bank,
                "account_number": "6222000011111111",
                "query_date": "2025-01-10",
                "balance": "10000",
            },
            {
                **bank,
                "account_number": "6222000011111111",
                "query_date": "2025-05-10",
                "balance": "12000",
            },
            {
                **bank,
                "account_number": "6222000022222222",
                "query_date": "2025-02-01",
                "balance": "5000",
            },
            {
                **bank,
                "account_number": "6222000022222222",
                "query_date": "2025-06-01",
                "balance": "4000",
            },
            {
                **bank,
                "account_number": "6222000033333333",
                "query_date": "2024-05-01",
                "balance": "80000",
            },
        ],
        "金融资产查询.csv",
    )
    feed(
        tmp_path,
        "vehicle_registration",
        [
            {
                "id_number": ZENG,
                "name": "曾小明",
                "plate_number": "鲁F12345",
                "vehicle_type": "小型轿车",
                "registration_date": "2020-05-01",
                "vehicle_value": "50000",
            },
            {
                "id_number": LI,
                "name": "李秀英",
                "plate_number": "鲁F6789X",
                "vehicle_type": "残疾人专用车",
                "registration_date": "2021-05-01",
                "vehicle_value": "8000",
                "disability_vehicle": "是",
            },
        ],
    )
    feed(
        tmp_path,
        "old_age_allowance",
        [
            {
                "id_number": ZENG,
                "name": "曾小明",
                "age_band": "80-89",
                "amount": "100",
                "payment_date": "2025-06-10",
            }
        ],
        "高龄津贴.csv",
    )
    return town_households


def _gather(household_id: int, as_of: dt.date = AS_OF) -> dict:
    from doudi.policy.services import _pool_with_declarations

    con = _pool_with_declarations()
    try:
        return vf.findings_gather(con, household_id=household_id, as_of=as_of)
    finally:
        con.close()


def _member(findings: dict, name: str) -> dict:
    return next(m for m in findings["members"] if m["name"] == name)


def test_findings_itemise_what_the_rules_count_with_provenance(pool):
    findings = _gather(pool["qy"].pk)
    zeng, li = _member(findings, "曾小明"), _member(findings, "李秀英")
    assert zeng["masked_id"] == ZENG[:6] + "********" + ZENG[-4:]
    assert zeng["relation_label"] == "户主" and li["relation_label"] == "配偶"

    # wages: the average of the months with a wage line (5 × 3,000 and June 3,000 + 600)
    assert zeng["monthly"]["wage"] == "3100.00"
    wage_items = [i for i in zeng["sections"]["income"] if i["kind"] == "wage"]
    assert len(wage_items) == 7 and all(i["counted"] for i in wage_items)
    assert "9999.00" not in {i["amount"] for i in wage_items}  # outside the 12 months
    june = next(i for i in wage_items if i["label"] == "劳务报酬所得")
    assert june["interface"] == "tax_income" and june["interface_name"].endswith("个人所得税")
    assert june["file"] == "个税2025.csv" and june["line"] == 8 and june["record_key"]
    assert june["date"] == "2025-06-01" and june["amount"] == "600.00"
    business = next(i for i in zeng["sections"]["income"] if i["kind"] == "business")
    assert business["counted"] and business["status"] == "counted"
    assert zeng["monthly"]["business"] == "41.67"  # 500 / 12

    # pensions of the last 3 months, by type; the basic pension is not counted for 特困
    assert li["monthly"]["pension"] == "2033.33" and li["monthly"]["basic_pension"] == "150.00"
    pensions = li["sections"]["income"]
    assert {i["date"] for i in pensions} == {"2025-04-15", "2025-05-15", "2025-06-15"}
    basic = next(i for i in pensions if i["kind"] == "basic_pension")
    assert basic["counted"] and not basic["counted_tekun"]

    # deposits: the latest query of each account counts, the earlier one is shown as superseded
    deposits = zeng["sections"]["asset"]
    counted = sorted(i["amount"] for i in deposits if i["kind"] == "deposit" and i["counted"])
    assert counted == ["12000.00", "4000.00"]
    superseded = [i for i in deposits if i["status"] == "superseded"]
    assert sorted(i["amount"] for i in superseded) == ["10000.00", "5000.00"]
    assert all(i["file"] == "金融资产查询.csv" for i in deposits if i["kind"] == "deposit")
    assert "80000.00" not in {i["amount"] for i in deposits}
    assert findings["totals"]["financial"] == "16000.00"
    assert findings["totals"]["financial_itemised"] == "16000.00"

    # vehicles: one counted, the disability vehicle exempt
    assert findings["totals"]["vehicles"] == 1
    (exempt,) = [i for i in li["sections"]["asset"] if i["kind"] == "vehicle"]
    assert exempt["status"] == "exempt" and not exempt["counted"]

    # the old-age allowance: shown, not counted
    (allowance,) = zeng["sections"]["excluded"]
    assert allowance["kind"] == "old_age_allowance" and allowance["amount"] == "100.00"
    assert not allowance["counted"] and allowance["status_label"].startswith("不计入")
    assert allowance["file"] == "高龄津贴.csv" and allowance["line"] == 2

    # nothing in real estate: a finding; an interface that never received data says so
    none = {n["interface"]: n for n in zeng["none_found"]}
    assert "real_estate" in none and none["real_estate"]["received"] is False
    assert "vehicle_registration" not in none
    assert "pension_payment" in none and none["pension_payment"]["received"] is True
    fresh = {i["code"]: i for i in findings["interfaces"]}
    assert fresh["bank_deposit"]["last_received"] and fresh["real_estate"]["last_received"] is None

    # the household totals equal the rules' figures
    assert findings["totals"]["monthly_income"] == "5325.00"  # 3,100 + 41.67 + 2,033.33 + 150
    assert findings["totals"]["mismatches"] == []

    # four months later the last wage month is too old: the rules count no wage, and the
    # wage lines are shown as not counted (stale) rather than dropped
    later = _member(_gather(pool["qy"].pk, dt.date(2025, 10, 31)), "曾小明")
    assert later["monthly"]["wage"] == "0.00"
    wages_later = [i for i in later["sections"]["income"] if i["kind"] == "wage"]
    assert wages_later and {i["status"] for i in wages_later} == {"stale"}


# --------------------------------------------------------------------------- authorisation


def scan(name: str = "授权书.pdf", data: bytes = PDF_BYTES, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def authorise(user, household, signed_on=dt.date(2025, 6, 1), **kw):
    return vf.authorisation_record(
        actor=user,
        household=household,
        signed_by=kw.pop("signed_by", "曾小明、李秀英"),
        signed_on=signed_on,
        scan=kw.pop("scan", scan()),
    )


def test_authorisation_recorded_with_digest_and_audit(users, town_households):
    import hashlib

    auth = authorise(users["clerk"], town_households["qy"])
    assert auth.scan_sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert auth.scan.name.endswith(".pdf") and "授权书" not in auth.scan.name
    assert auth.scan.read() == PDF_BYTES
    event = AuditEvent.objects.get(event="policy.authorisation_record")
    assert event.subject_id == str(town_households["qy"].pk) and event.actor == users["clerk"]
    assert event.new["scan_sha256"] == auth.scan_sha256


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scan": scan("授权书.docx", b"PK\x03\x04", "application/msword")}, "PDF、JPG 或 PNG"),
        ({"scan": scan("授权书.pdf", PNG_BYTES)}, "不是 PDF"),
        (
            {"scan": scan("big.png", PNG_BYTES + b"\x00" * (10 * 1024 * 1024))},
            "超过 10 MB",
        ),
        ({"signed_on": dt.date(2099, 1, 1)}, "晚于今天"),
        ({"signed_by": "  "}, "签署人"),
        ({"scan": None}, "扫描件"),
    ],
    ids=["wrong-type", "content-mismatch", "too-big", "future", "no-signer", "no-scan"],
)
def test_authorisation_refused_creates_nothing(users, town_households, kwargs, message):
    with pytest.raises(ValidationError) as exc:
        authorise(users["clerk"], town_households["qy"], **kwargs)
    assert message in " ".join(exc.value.messages)
    assert not Authorisation.objects.exists()
    assert not AuditEvent.objects.filter(event="policy.authorisation_record").exists()


def test_authorisation_needs_role_and_jurisdiction(users, town_households):
    with pytest.raises(PermissionDenied):
        authorise(users["clerk2"], town_households["qy"])  # another town
    with pytest.raises(PermissionDenied):
        authorise(users["village"], town_households["qy"])  # a role that may not verify
    assert authorise(users["county"], town_households["qy"]).pk


def test_authorisation_validity_window(users, town_households):
    hh = town_households["qy"]
    auth = authorise(users["clerk"], hh, signed_on=dt.date(2024, 7, 1))
    assert vf.authorisation_valid_for(household_id=hh.pk, as_of=dt.date(2025, 6, 30)) == auth
    assert vf.authorisation_valid_for(household_id=hh.pk, as_of=dt.date(2025, 7, 1)) is None
    assert vf.authorisation_valid_for(household_id=hh.pk, as_of=dt.date(2024, 6, 30)) is None
    assert vf.authorisation_valid_from(dt.date(2024, 2, 29)) == dt.date(2023, 2, 28)


# --------------------------------------------------------------------------- the run


def test_verification_refused_without_authorisation(users, pool):
    with pytest.raises(ValidationError) as exc:
        vf.verification_run(actor=users["clerk"], household=pool["qy"], as_of=AS_OF)
    assert "授权书" in exc.value.messages[0]
    # signed after the as-of date: not valid for it either
    authorise(users["clerk"], pool["qy"], signed_on=dt.date(2025, 7, 1))
    with pytest.raises(ValidationError):
        vf.verification_run(actor=users["clerk"], household=pool["qy"], as_of=AS_OF)
    assert not Verification.objects.exists()
    assert not AuditEvent.objects.filter(event="policy.verify").exists()


def test_verification_stored_with_findings_assessment_and_audit(users, pool):
    auth = authorise(users["clerk"], pool["qy"])
    v = vf.verification_run(actor=users["clerk"], household=pool["qy"], as_of=AS_OF)
    assert v.authorisation == auth and v.as_of == AS_OF and v.requested_by == users["clerk"]
    zeng = _member(v.findings, "曾小明")
    assert zeng["monthly"]["wage"] == "3100.00"
    assert v.findings["totals"]["financial"] == "16000.00"
    result = v.assessment["result"]
    assert result["policy_version"] == v.policy_version and v.policy_version
    # 16,000 of deposits and a car: not 低保, whatever the income
    assert "dibao" not in result["household_categories"]
    assets = {c["rule"]: c["outcome"] for c in result["criteria"] if c["rule"].startswith("assets")}
    assert assets["assets.vehicles"] == "no"
    event = AuditEvent.objects.get(event="policy.verify")
    assert event.new["verification"] == v.pk and event.new["as_of"] == AS_OF.isoformat()


def test_verification_date_in_the_future_refused(users, pool):
    authorise(users["clerk"], pool["qy"], signed_on=timezone.localdate())
    with pytest.raises(ValidationError):
        vf.verification_run(
            actor=users["clerk"],
            household=pool["qy"],
            as_of=timezone.localdate() + dt.timedelta(days=1),
        )


# --------------------------------------------------------------------------- pages and PDF


def test_verify_page_run_disabled_without_authorisation(client, users, town_households):
    hh = town_households["qy"]
    client.force_login(users["clerk"])
    page = client.get(reverse("policy:verify", args=[hh.pk])).content.decode()
    assert 'data-testid="run-button" disabled' in page and "没有对基准日" in page
    response = client.post(
        reverse("policy:verify", args=[hh.pk]), {"action": "run", "as_of": "2025-06-30"}
    )
    assert response.status_code == 400 and "授权书" in response.content.decode()
    assert not Verification.objects.exists()


def test_verify_page_upload_errors_keep_input_and_create_nothing(client, users, town_households):
    hh = town_households["qy"]
    client.force_login(users["clerk"])
    url = reverse("policy:verify", args=[hh.pk])
    response = client.post(
        url,
        {
            "action": "authorise",
            "signed_by": "曾小明",
            "signed_on": "2025-06-01",
            "scan": scan("授权书.txt", b"hello", "text/plain"),
        },
    )
    text = response.content.decode()
    assert response.status_code == 400 and "PDF、JPG 或 PNG" in text
    assert 'value="曾小明"' in text  # what was typed is kept
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    response = client.post(
        url, {"action": "authorise", "signed_by": "曾小明", "signed_on": future, "scan": scan()}
    )
    assert response.status_code == 400 and "晚于今天" in response.content.decode()
    response = client.post(
        url, {"action": "authorise", "signed_by": "曾小明", "signed_on": "2025/6/1", "scan": scan()}
    )
    assert response.status_code == 400 and "YYYY-MM-DD" in response.content.decode()
    assert not Authorisation.objects.exists()


def test_upload_run_report_and_pdf(client, users, pool):
    from pypdf import PdfReader

    hh = pool["qy"]
    client.force_login(users["clerk"])
    url = reverse("policy:verify", args=[hh.pk])
    response = client.post(
        url,
        {
            "action": "authorise",
            "signed_by": "曾小明、李秀英",
            "signed_on": "2025-06-01",
            "scan": scan("scan.png", PNG_BYTES, "image/png"),
        },
    )
    assert response.status_code == 302
    auth = Authorisation.objects.get()
    page = client.get(url, {"as_of": "2025-06-30"}).content.decode()
    assert 'data-testid="run-button" disabled' not in page
    scan_response = client.get(reverse("policy:authorisation_scan", args=[auth.pk]))
    assert scan_response["Content-Type"] == "image/png"
    assert b"".join(scan_response.streaming_content) == PNG_BYTES

    response = client.post(url, {"action": "run", "as_of": "2025-06-30"})
    v = Verification.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "policy:verification", args=[v.pk]
    )
    report = client.get(response["Location"]).content.decode()
    assert hh.number in report and "2025-06-30" in report
    assert ZENG[:6] + "********" + ZENG[-4:] in report and ZENG not in report
    assert "¥3,100.00" in report and "¥16,000.00" in report  # wage, financial assets
    assert "个税2025.csv · 8" in report and "高龄津贴.csv · 2" in report
    assert "不计入（政策规定）" in report and v.policy_version in report
    assert (
        AuditEvent.objects.filter(event="policy.verification_view", subject_id=str(v.pk)).count()
        == 1
    )

    pdf = client.get(reverse("policy:verification_pdf", args=[v.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    text = "".join(
        "".join((p.extract_text() or "").replace("\x00", "").split())
        for p in PdfReader(io.BytesIO(pdf.content)).pages
    )
    assert hh.number in text and "居民家庭经济状况核对报告" in text
    assert "核对人" in text and "复核人" in text and ZENG not in text
    assert "¥3,100.00" in text
    assert (
        AuditEvent.objects.filter(event="policy.verification_pdf", subject_id=str(v.pk)).count()
        == 1
    )


def test_report_access_is_limited_to_the_jurisdiction(client, users, pool):
    auth = authorise(users["clerk"], pool["qy"])
    v = vf.verification_run(actor=users["clerk"], household=pool["qy"], as_of=AS_OF)
    client.force_login(users["clerk2"])  # another town of the same county
    assert client.get(reverse("policy:verification", args=[v.pk])).status_code == 404
    assert client.get(reverse("policy:verification_pdf", args=[v.pk])).status_code == 404
    assert client.get(reverse("policy:verify", args=[pool["qy"].pk])).status_code == 404
    assert client.get(reverse("policy:authorisation_scan", args=[auth.pk])).status_code == 404
    assert not AuditEvent.objects.filter(event__startswith="policy.verification_").exists()
    client.force_login(users["county"])
    assert client.get(reverse("policy:verification", args=[v.pk])).status_code == 200
    client.force_login(users["village"])  # may see the report, may not run one
    page = client.get(reverse("policy:verify", args=[pool["qy"].pk])).content.decode()
    assert "run-button" not in page
    response = client.post(
        reverse("policy:verify", args=[pool["qy"].pk]), {"action": "run", "as_of": "2025-06-30"}
    )
    assert response.status_code == 403


def test_stored_report_does_not_change_when_the_pool_does(users, pool, tmp_path):
    authorise(users["clerk"], pool["qy"])
    v = vf.verification_run(actor=users["clerk"], household=pool["qy"], as_of=AS_OF)
    feed(
        tmp_path,
        "bank_deposit",
        [
            {
                "id_number": ZENG,
                "name": "曾小明",
                "institution": "烟台银行",
                "asset_type": "demand",
                "account_number": "6222000099999999",
                "query_date": "2025-06-20",
                "balance": "50000",
            }
        ],
        "later.csv",
    )
    v.refresh_from_db()
    assert v.findings["totals"]["financial"] == "16000.00"
    assert _gather(pool["qy"].pk)["totals"]["financial"] == "66000.00"
    assert Decimal(_gather(pool["qy"].pk)["totals"]["deposits"]) == Decimal("66000")
