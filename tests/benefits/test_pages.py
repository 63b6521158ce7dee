"""The pages: roll list and detail by jurisdiction, masked IDs, build / approve / export through
the pages, the household panel and the benefits ledger."""

from __future__ import annotations

import pytest
from django.urls import reverse

from doudi.benefits import services as benefit_services
from doudi.benefits.models import PaymentRoll
from doudi.core.models import AuditEvent
from tests.benefits.conftest import M
from tests.benefits.test_payroll import benefits  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def rolls(benefits, users):  # noqa: F811
    """March approved and April draft for 福山区; March approved for 芝罘区."""
    fushan = benefit_services.payroll_build(actor=None, county="370611", month=M(2025, 3))
    benefit_services.payroll_approve(actor=users["admin"], roll=fushan)
    april = benefit_services.payroll_build(actor=None, county="370611", month=M(2025, 4))
    zhifu = benefit_services.payroll_build(actor=None, county="370602", month=M(2025, 3))
    benefit_services.payroll_approve(actor=users["admin"], roll=zhifu)
    return {"march": fushan, "april": april, "zhifu": zhifu}


def test_roll_list_by_jurisdiction(client, users, rolls):
    client.force_login(users["county"])
    html = client.get(reverse("benefits:rolls")).content.decode()
    assert "2025-03" in html and "2025-04" in html and "待审核 1" in html
    assert "芝罘区" not in html.split('data-testid="rolls"')[1]
    assert "¥2,511.00" in html  # March's total
    client.force_login(users["admin"])
    html = client.get(reverse("benefits:rolls")).content.decode()
    table = html.split('data-testid="rolls"')[1]
    assert "芝罘区" in table and "福山区" in table
    html = client.get(reverse("benefits:rolls"), {"county": "370602"}).content.decode()
    assert "福山区" not in html.split('data-testid="rolls"')[1]
    xlsx = client.get(reverse("benefits:rolls"), {"export": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    for who in ("clerk", "village", "carer"):
        client.force_login(users[who])
        assert client.get(reverse("benefits:rolls")).status_code == 403


def test_roll_detail_masks_ids_and_hides_other_counties(client, users, rolls, member):
    march = rolls["march"]
    client.force_login(users["county"])
    r = client.get(reverse("benefits:roll", args=[march.pk]))
    assert r.status_code == 200
    html = r.content.decode()
    zeng = member("曾小明")
    assert "370611********" + zeng.id_last4 in html
    from doudi.core import crypto

    assert crypto.decrypt(zeng.id_enc) not in html
    assert 'data-testid="reconciliation"' in html and "平衡" in html
    assert "¥1,639.00" in html and 'data-testid="roll-total">¥2,511.00' in html
    assert 'data-testid="export"' in html  # approved, and a county approver may export
    assert AuditEvent.objects.filter(event="payroll.view", subject_id=str(march.pk)).exists()
    client.force_login(users["other_county"])
    assert client.get(reverse("benefits:roll", args=[march.pk])).status_code == 404
    assert client.get(reverse("benefits:roll_export", args=[march.pk])).status_code == 404
    r = client.post(reverse("benefits:roll_approve", args=[rolls["april"].pk]))
    assert r.status_code == 404
    client.force_login(users["clerk"])
    assert client.get(reverse("benefits:roll", args=[march.pk])).status_code == 404


def test_build_approve_and_export_through_the_pages(client, users, rolls):
    april = rolls["april"]
    client.force_login(users["county"])
    r = client.post(
        reverse("benefits:roll_build"), {"county": "370611", "month": "2025-04"}, follow=True
    )
    assert r.status_code == 200 and "已生成 2025年4月 发放名册" in r.content.decode()
    april.refresh_from_db()
    assert april.built_by == users["county"]
    html = r.content.decode()
    assert 'data-testid="approve"' not in html and "须由其他审核人审核" in html
    r = client.post(reverse("benefits:roll_approve", args=[april.pk]), follow=True)
    assert "名册须由制表人以外的人员审核" in r.content.decode()
    client.force_login(users["admin"])
    r = client.post(reverse("benefits:roll_approve", args=[april.pk]), follow=True)
    assert "名册已审核" in r.content.decode()
    april.refresh_from_db()
    assert april.status == PaymentRoll.Status.APPROVED
    r = client.post(
        reverse("benefits:roll_build"), {"county": "370611", "month": "2025-04"}, follow=True
    )
    assert "已审核，不能重新生成" in r.content.decode()
    r = client.get(reverse("benefits:roll_export", args=[april.pk]))
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert "payroll-370611-2025-04.xlsx" in r["Content-Disposition"]
    assert AuditEvent.objects.filter(event="payroll.export", actor=users["admin"]).exists()
    client.force_login(users["analyst"])  # may see rolls, not export full ID numbers
    assert client.get(reverse("benefits:roll", args=[april.pk])).status_code == 200
    assert client.get(reverse("benefits:roll_export", args=[april.pk])).status_code == 403
    client.force_login(users["other_county"])
    r = client.post(reverse("benefits:roll_build"), {"county": "370611", "month": "2025-05"})
    assert r.status_code == 403


def test_household_panel_and_ledger(client, users, benefits):  # noqa: F811
    qy = benefits["qy"].household
    client.force_login(users["clerk"])
    r = client.get(reverse("benefits:household_panel", args=[qy.pk]))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="benefits-panel"' in html and "低保" in html and "¥1,638.50" in html
    client.force_login(users["clerk2"])
    assert client.get(reverse("benefits:household_panel", args=[qy.pk])).status_code == 404
    client.force_login(users["county"])
    html = client.get(reverse("benefits:list"), {"month": "2025-04"}).content.decode()
    table = html.split('data-testid="benefits"')[1]
    assert qy.number in table and "特困供养" in table and "共 3 条" in html
    assert benefits["zf"].household.number not in table  # 芝罘区
    html = client.get(reverse("home")).content.decode()
    assert "待遇发放" in html and reverse("benefits:rolls") in html
