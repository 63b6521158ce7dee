from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from doudi.core.models import AuditEvent
from doudi.core.tokens import api_token_issue
from doudi.datapool.models import IngestFile, LinkOverride, LinkReview
from doudi.registry.models import Person
from tests.conftest import make_id
from tests.datapool.conftest import INPATIENT_HEADER, csv_text

pytestmark = pytest.mark.django_db

HEADER = INPATIENT_HEADER
ZENG = make_id("370611", "19500101", 11)


def gbk_upload():
    text = csv_text(
        HEADER,
        [
            [ZENG, "曾小明", "2025-03-01", "2025-03-10", "100", "60", "40", "医院"],
            [ZENG, "曾小明", "2025-13-01", "2025-03-10", "100", "60", "40", "医院"],
        ],
    )
    return SimpleUploadedFile("住院.csv", text.encode("gbk"), content_type="text/csv")


def test_catalog_lists_every_interface_with_freshness(client, users):
    client.force_login(users["clerk"])
    text = client.get(reverse("datapool:catalog")).content.decode()
    assert "医保住院结算" in text and "死亡登记" in text and "尚未接收" in text
    assert "56 个接口" in text or "个接口" in text


def test_upload_gbk_summary_and_quarantine_download(client, users, town_households):
    from openpyxl import load_workbook

    client.force_login(users["clerk"])
    response = client.post(
        reverse("datapool:upload"), {"interface": "medical_inpatient", "file": gbk_upload()}
    )
    ingest = IngestFile.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/files/{ingest.pk}/")
    page = client.get(response["Location"]).content.decode()
    assert "住院.csv" in page and "无法识别的日期" in page
    assert (ingest.accepted, ingest.quarantined, ingest.linked) == (1, 1, 1)
    download = client.get(reverse("datapool:quarantine", args=[ingest.pk]))
    sheet = load_workbook(io.BytesIO(download.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("原行号", "隔离原因", "身份证号")
    assert rows[1][0] == 3 and "2025-13-01" in rows[1][1] and rows[1][2] == ZENG
    assert AuditEvent.objects.filter(event="datapool.quarantine_export").count() == 1


def test_unreadable_upload_shows_message_and_changes_nothing(client, users):
    client.force_login(users["clerk"])
    bad = SimpleUploadedFile("x.csv", "姓名\n张三\n".encode(), content_type="text/csv")
    response = client.post(
        reverse("datapool:upload"), {"interface": "medical_inpatient", "file": bad}
    )
    assert response.status_code == 200
    assert "找不到表头行" in response.content.decode()
    assert IngestFile.objects.get().status == IngestFile.Status.FAILED


def test_other_users_cannot_see_someone_elses_file(client, users, town_households):
    client.force_login(users["clerk"])
    client.post(
        reverse("datapool:upload"), {"interface": "medical_inpatient", "file": gbk_upload()}
    )
    ingest = IngestFile.objects.get()
    client.force_login(users["clerk2"])
    assert client.get(reverse("datapool:ingest", args=[ingest.pk])).status_code == 404
    assert client.get(reverse("datapool:quarantine", args=[ingest.pk])).status_code == 404
    client.force_login(users["admin"])
    assert client.get(reverse("datapool:ingest", args=[ingest.pk])).status_code == 200


def test_village_worker_and_caretaker_cannot_upload(client, users):
    for key in ("village", "carer"):
        client.force_login(users[key])
        assert client.get(reverse("datapool:upload")).status_code == 403


def test_api_push_rows(client, users, town_households):
    token = api_token_issue(actor=None, user=users["api"], name="医保")
    payload = {
        "batch": "2025-03-10 推送",
        "rows": [
            {
                "身份证号": ZENG,
                "姓名": "曾小明",
                "入院日期": "2025-03-01",
                "出院日期": "2025-03-10",
                "医疗总费用": 100,
                "统筹支付": 60,
                "个人自付": 40,
                "医疗机构": "医院",
            },
            {
                "id_number": ZENG,
                "name": "曾小明",
                "admission_date": "2025-04-01",
                "discharge_date": "2025-04-03",
                "total_cost": "50",
                "fund_paid": "20",
                "self_paid": "30",
                "institution": "医院",
            },
        ],
    }
    response = client.post(
        "/api/v1/datapool/medical_inpatient/rows",
        payload,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 2 and body["linked"] == 2
    again = client.post(
        "/api/v1/datapool/medical_inpatient/rows",
        payload,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert again.json()["status"] == "duplicate"
    unknown = client.post(
        "/api/v1/datapool/nope/rows",
        payload,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert unknown.status_code == 404


def test_api_push_refused_for_caretaker(client, users):
    token = api_token_issue(actor=None, user=users["carer"], name="x")
    response = client.post(
        "/api/v1/datapool/medical_inpatient/rows",
        {"batch": "b", "rows": [{"姓名": "x"}]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 403


def test_review_queue_confirm_creates_override(client, users, town_households):
    person = Person.objects.get(name="曾小明")
    ingest = IngestFile.objects.create(
        interface="medical_inpatient", file_name="f", sha256="x", source="cli", status="committed"
    )
    review = LinkReview.objects.create(
        ingest=ingest,
        interface="medical_inpatient",
        record_key="k" * 32,
        line=3,
        name="曾晓明",
        id_masked="370611********0011",
        candidate=person,
        probability=0.8,
        region_id=person.residence_region_id,
    )
    client.force_login(users["clerk2"])  # another town: not in their queue
    assert "曾晓明" not in client.get(reverse("datapool:review")).content.decode()
    assert (
        client.post(
            reverse("datapool:review_decide", args=[review.pk]), {"decision": "confirm"}
        ).status_code
        == 404
    )
    client.force_login(users["clerk"])
    assert "曾晓明" in client.get(reverse("datapool:review")).content.decode()
    client.post(reverse("datapool:review_decide", args=[review.pk]), {"decision": "confirm"})
    review.refresh_from_db()
    assert review.status == "confirmed"
    assert LinkOverride.objects.get(record_key="k" * 32).person == person
    assert AuditEvent.objects.filter(event="datapool.link_confirm").count() == 1


def test_town_return_page_and_share_rate(client, users, town_households, tmp_path):
    from doudi.datapool.ingest import IngestOptions, ingest_file

    path = tmp_path / "deaths.csv"
    path.write_text(
        csv_text(
            ["身份证号", "姓名", "死亡日期", "登记机关"],
            [
                [ZENG, "曾小明", "2025-05-03", "福山分局"],
                [make_id("370611", "19700707", 41), "张伟", "2025-05-04", "福山分局"],
            ],
        ),
        encoding="utf-8",
    )
    ingest_file("death_registration", path, options=IngestOptions(probabilistic=False))
    client.force_login(users["admin"])
    text = client.get(reverse("datapool:share")).content.decode()
    assert 'data-testid="share-rate">0%' in text
    client.force_login(users["clerk"])  # 清洋街道: only 曾小明
    text = client.get(reverse("datapool:returned")).content.decode()
    assert "曾小明" in text and "张伟" not in text and "新" in text
    text = client.get(reverse("datapool:returned")).content.decode()
    assert "共 1 条，新 0 条" in text
    client.force_login(users["admin"])
    text = client.get(reverse("datapool:share")).content.decode()
    assert 'data-testid="share-rate">50%' in text  # 清洋 returned, 福新 not yet


def test_interface_page_lists_fields_in_chinese(client, users):
    client.force_login(users["clerk"])
    text = client.get(
        reverse("datapool:interface", args=["disability_certificate"])
    ).content.decode()
    assert "残疾类别" in text and "代码值" in text and "身份证号" in text
    assert client.get(reverse("datapool:interface", args=["nope"])).status_code == 404
