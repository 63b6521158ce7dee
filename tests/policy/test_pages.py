"""The policy pages: a household explained, parameters, sweeps, what-if; access by jurisdiction."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse

from doudi.core.models import AuditEvent
from doudi.policy import services

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


def test_household_explanation_in_jurisdiction(client, users, declared):
    services.sweep_run(actor=None, as_of=dt.date(2026, 1, 1))
    qy = declared["qy"]
    _login(client, users["clerk"])
    r = client.get(reverse("policy:household", args=[qy.pk]), {"as_of": "2026-01-01"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "低保" in html and "第1层" in html
    assert "家庭月人均收入低于低保标准" in html  # a criterion with its values
    assert "1,638" in html  # monthly amount
    assert 'data-testid="timeline"' in html and "2026-01-01" in html
    assert AuditEvent.objects.filter(
        event="policy.household_assess", subject_id=str(qy.pk)
    ).exists()
    panel = client.get(reverse("policy:household_panel", args=[qy.pk]))
    assert panel.status_code == 200 and b"policy-panel" in panel.content


def test_why_not_names_the_values(client, users, declared):
    zf = declared["zf"]
    _login(client, users["admin"])
    html = client.get(reverse("policy:household", args=[zf.pk]), {"as_of": "2026-01-01"}).content
    text = html.decode()
    assert "为什么不是低保" in text
    assert "8,000" in text and "1,069" in text


def test_household_outside_jurisdiction_is_404(client, users, declared):
    _login(client, users["clerk2"])
    r = client.get(reverse("policy:household", args=[declared["qy"].pk]))
    assert r.status_code == 404
    r = client.get(reverse("policy:household_panel", args=[declared["qy"].pk]))
    assert r.status_code == 404


def test_parameters_page_shows_values_and_assumed(client, users):
    _login(client, users["clerk"])
    r = client.get(reverse("policy:parameters"), {"as_of": "2026-01-01"})
    html = r.content.decode()
    assert "dibao.standard.urban" in html and "1069" in html and "假设" in html
    r = client.get(reverse("policy:parameter", args=["tekun.standard.urban"]))
    assert "芝罘区" in r.content.decode() and "1430" in r.content.decode()
    assert 'data-testid="propose"' not in r.content.decode()  # a clerk cannot propose


def test_propose_and_approve_through_pages(client, users):
    _login(client, users["analyst"])
    url = reverse("policy:parameter", args=["dibao.standard.rural"])
    r = client.post(
        url,
        {
            "scope": "city",
            "effective_from": "2026-07-01",
            "value": "900",
            "reference": "测试通知",
            "reason": "",
        },
        follow=True,
    )
    assert "等待另一位管理员审核" in r.content.decode()
    bad = client.post(
        url,
        {"scope": "city", "effective_from": "2024-01-01", "value": "900", "reference": "x"},
        follow=True,
    )
    assert "历史取值不能修改" in bad.content.decode()
    from doudi.policy.models import ParameterChange

    change = ParameterChange.objects.get()
    client.force_login(users["admin"])
    r = client.post(
        reverse("policy:parameter_decide", args=[change.pk]),
        {"decision": "approve", "note": "同意"},
        follow=True,
    )
    assert r.status_code == 200
    change.refresh_from_db()
    assert change.status == "approved"
    assert "审核通过的调整" in client.get(url).content.decode()


def test_sweeps_page_and_start(client, users, declared):
    _login(client, users["analyst"])
    r = client.post(reverse("policy:sweep_start"), {"as_of": "2026-01-01"}, follow=True)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="sweep-stats"' in html  # the immediate backend ran it
    assert "福山区" in html
    _login(client, users["clerk"])
    assert client.post(reverse("policy:sweep_start")).status_code == 403


def test_whatif_page_compares_and_exports(client, users, declared):
    _login(client, users["analyst"])
    params = {"as_of": "2026-01-01", "p0": "dibao.standard.urban", "pct0": "-80"}
    r = client.get(reverse("policy:whatif"), params)
    html = r.content.decode()
    assert 'data-testid="whatif-totals"' in html
    assert "whatif-data" in html and "echarts.min.js" in html
    # at 20% of the standard (213.80) nobody stays in 低保
    assert "年度支出变化" in html
    x = client.get(reverse("policy:whatif"), {**params, "export": "xlsx"})
    assert x["Content-Type"].startswith("application/vnd.openxmlformats")
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames == ["汇总", "类别", "分区市", "参数"]
    assert wb["类别"]["A2"].value == "低保"
    assert AuditEvent.objects.filter(event="policy.simulate").exists()


def test_whatif_rejects_unknown_parameter(client, users):
    _login(client, users["analyst"])
    r = client.get(reverse("policy:whatif"), {"p0": "bogus", "v0": "1"})
    assert "未知参数" in r.content.decode()
    assert "whatif-totals" not in r.content.decode()
