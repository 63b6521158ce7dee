from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from doudi.core.models import AuditEvent
from doudi.datapool.ingest import IngestOptions, ingest_file
from doudi.datapool.models import IngestFile, QuarantineRow, StoreFile
from doudi.datapool.readers import UnreadableFile
from doudi.datapool.selectors import pool_connection
from doudi.registry.models import Person
from tests.conftest import make_id
from tests.datapool.conftest import INPATIENT_HEADER, csv_text

pytestmark = pytest.mark.django_db

HEADER = INPATIENT_HEADER
ZENG = make_id("370611", "19500101", 11)  # 曾小明, 清洋街道
ZHANG = make_id("370611", "19700707", 41)  # 张伟, 福新街道
OUTSIDER = make_id("110105", "19491231", 2)  # valid, not in the registry


def row(
    number,
    name,
    admitted="2025-03-01",
    discharged="2025-03-10",
    total="12000",
    fund="8000",
    own="4000",
    hospital="烟台毓璜顶医院",
):
    return [number, name, admitted, discharged, total, fund, own, hospital]


def write(tmp_path, name, rows, encoding="utf-8", header=HEADER):
    path = tmp_path / name
    path.write_bytes(csv_text(header, rows).encode(encoding))
    return path


def ingest(path, **kw):
    return ingest_file("medical_inpatient", path, options=IngestOptions(probabilistic=False, **kw))


def current(con, sql="SELECT * FROM medical_inpatient"):
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_gbk_file_summary_linkage_and_provenance(tmp_path, town_households):
    path = write(
        tmp_path,
        "inpatient.csv",
        [
            row(ZENG, "曾小明"),
            row(ZENG.lower() if ZENG.endswith("X") else ZENG, "曾小明"),  # same row again
            row(ZHANG, "张伟", admitted="2025-13-01"),  # bad date → quarantine
            row(
                "370611" + "700707041", "张伟", admitted="2025-04-01"
            ),  # old 15-digit form of ZHANG
            row(OUTSIDER, "外地人"),
        ],
        encoding="gbk",
    )
    result = ingest(path)
    s = result.summary()
    assert result.encoding == "gb18030"
    assert (s["rows"], s["accepted"], s["quarantined"], s["duplicates"]) == (5, 3, 1, 1)
    assert s["linked"] == 2 and s["unlinked"] == 1
    assert s["accepted"] + s["quarantined"] + s["duplicates"] == s["rows"]
    q = QuarantineRow.objects.get()
    assert q.line == 4 and q.reason.startswith("入院日期：无法识别的日期（2025-13-01）")
    assert ZHANG not in q.data_enc  # encrypted at rest
    rows = current(pool_connection(), "SELECT * FROM medical_inpatient ORDER BY _line")
    assert [r["_line"] for r in rows] == [2, 5, 6]
    assert rows[0]["person_id"] == Person.objects.get(name="曾小明").pk
    assert rows[0]["link_method"] == "exact"
    assert rows[0]["_file"] == "inpatient.csv" and rows[0]["self_paid"] == Decimal("4000.00")
    assert rows[0]["id_masked"] == ZENG[:6] + "********" + ZENG[-4:]
    assert "id_number" not in rows[0]  # no ID number in clear in the store
    assert rows[1]["person_id"] == Person.objects.get(name="张伟").pk  # 15 → 18 digits
    assert rows[2]["person_id"] is None and rows[2]["id_valid"] is True  # not in the registry
    assert AuditEvent.objects.filter(event="datapool.ingest").count() == 1


def test_resending_the_same_file_changes_nothing(tmp_path, town_households):
    path = write(tmp_path, "a.csv", [row(ZENG, "曾小明"), row(ZHANG, "张伟")])
    first = ingest(path)
    again = ingest(path)
    assert again.status == IngestFile.Status.DUPLICATE
    assert again.summary()["duplicates"] == 2 and again.summary()["accepted"] == 0
    assert StoreFile.objects.count() == StoreFile.objects.filter(ingest=first).count()
    assert len(current(pool_connection())) == 2


def test_rows_already_received_in_another_file_are_duplicates(tmp_path, town_households):
    ingest(write(tmp_path, "a.csv", [row(ZENG, "曾小明"), row(ZHANG, "张伟")]))
    second = ingest(
        write(tmp_path, "b.csv", [row(ZHANG, "张伟"), row(ZENG, "曾小明", admitted="2025-06-01")])
    )
    assert second.summary()["duplicates"] == 1 and second.summary()["accepted"] == 1
    assert len(current(pool_connection())) == 3


def test_a_corrected_row_supersedes_with_history_kept(tmp_path, town_households):
    ingest(write(tmp_path, "a.csv", [row(ZENG, "曾小明", own="4000")]))
    fix = ingest(write(tmp_path, "b.csv", [row(ZENG, "曾小明", own="3500")]))
    assert fix.superseded == 1 and fix.accepted == 1
    con = pool_connection()
    assert [r["self_paid"] for r in current(con)] == [Decimal("3500.00")]
    history = current(con, "SELECT self_paid FROM medical_inpatient_all ORDER BY _ingest")
    assert [r["self_paid"] for r in history] == [Decimal("4000.00"), Decimal("3500.00")]


def test_a_correction_within_one_file_keeps_one_current_row(tmp_path, town_households):
    """The current view skips ranking versions only for interfaces that never superseded a row;
    a key sent twice with new content in the same file must count as superseded."""
    from doudi.datapool.selectors import unique_interfaces

    ingest(write(tmp_path, "a.csv", [row(ZHANG, "张伟")]))
    assert "medical_inpatient" in unique_interfaces()
    f = ingest(
        write(tmp_path, "b.csv", [row(ZENG, "曾小明", own="4000"), row(ZENG, "曾小明", own="3500")])
    )
    con = pool_connection()
    rows = current(con, "SELECT self_paid FROM medical_inpatient WHERE name = '曾小明'")
    assert len(rows) == 1
    if f.superseded == 0:  # kept once only: the store itself holds one version
        assert len(current(con, "SELECT * FROM medical_inpatient_all WHERE name = '曾小明'")) == 1
    else:
        assert "medical_inpatient" not in unique_interfaces()


def test_a_correction_to_an_earlier_period_is_the_version_resends_are_compared_with(
    tmp_path, town_households
):
    """Within one file the later line wins, also when it moves the record to an earlier period
    (the stored rows are in period order): the same process then sees a resend of it as a
    duplicate, exactly as a fresh process reading the store would."""
    from doudi.datapool import ingest as ingest_module

    ingest(write(tmp_path, "a.csv", [row(ZHANG, "张伟")]))  # warms the per-process key cache
    ingest(
        write(
            tmp_path,
            "b.csv",
            [
                row(ZENG, "曾小明", discharged="2025-04-10", own="4000"),
                row(ZENG, "曾小明", discharged="2025-03-10", own="3500"),
            ],
        )
    )
    rows = current(
        pool_connection(), "SELECT self_paid FROM medical_inpatient WHERE name = '曾小明'"
    )
    assert [r["self_paid"] for r in rows] == [Decimal("3500.00")]
    resend = [row(ZENG, "曾小明", discharged="2025-03-10", own="3500")]
    warm = ingest(write(tmp_path, "c.csv", resend))
    assert warm.duplicates == 1 and warm.accepted == 0
    ingest_module._keys_cache.clear()  # a fresh process
    cold = ingest(write(tmp_path, "d.csv", resend + [row(ZHANG, "张伟")]))
    assert cold.duplicates == 2 and cold.accepted == 0


def test_unreadable_file_changes_nothing(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("姓名,备注\n张三,x\n", encoding="utf-8")
    with pytest.raises(UnreadableFile):
        ingest(path)
    failed = IngestFile.objects.get()
    assert failed.status == IngestFile.Status.FAILED and "身份证号" in failed.error
    assert not StoreFile.objects.exists()


def test_crash_between_stage_and_commit_leaves_no_visible_rows(tmp_path, town_households, pool_dir):
    path = write(tmp_path, "a.csv", [row(ZENG, "曾小明"), row(ZHANG, "张伟")])

    def boom():
        raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError):
        ingest(path, after_stage=boom)
    assert IngestFile.objects.get().status == IngestFile.Status.FAILED
    assert len(current(pool_connection())) == 0
    retry = ingest(path)
    assert retry.status == IngestFile.Status.COMMITTED and retry.accepted == 2
    assert len(current(pool_connection())) == 2


def test_partitioned_by_period(tmp_path, town_households):
    ingest(
        write(
            tmp_path,
            "a.csv",
            [
                row(ZENG, "曾小明", discharged="2025-03-10"),
                row(ZHANG, "张伟", discharged="2025-04-02"),
            ],
        )
    )
    assert sorted(StoreFile.objects.values_list("period", flat=True)) == ["2025-03", "2025-04"]
    assert all("/period=" in p for p in StoreFile.objects.values_list("path", flat=True))


def test_empty_interface_views_are_typed(db):
    con = pool_connection()
    cols = {d[0]: d[1] for d in con.execute("SELECT * FROM death_registration").description}
    assert "death_date" in cols and "person_id" in cols
    assert con.execute("SELECT count(*) FROM death_registration").fetchone()[0] == 0


def test_death_registration_without_probabilistic(tmp_path, town_households):
    path = tmp_path / "deaths.csv"
    path.write_text(
        csv_text(
            ["身份证号", "姓名", "死亡日期", "登记机关"],
            [[ZENG, "曾小明", "2025年5月3日", "福山分局"]],
        ),
        encoding="utf-8",
    )
    result = ingest_file("death_registration", path, options=IngestOptions(probabilistic=False))
    assert result.linked == 1
    rows = current(pool_connection(), "SELECT * FROM death_registration")
    assert rows[0]["death_date"] == dt.date(2025, 5, 3)


def test_rows_without_usable_id_are_linked_probabilistically(tmp_path, town_households):
    from doudi.datapool.models import LinkReview

    bad = ZENG[:-1] + ("0" if ZENG[-1] != "0" else "1")  # wrong check character
    path = write(
        tmp_path,
        "a.csv",
        [
            row(bad, "曾晓明"),  # and a homophone typo
            row(OUTSIDER[:-1] + "0", "完全不同"),
        ],
    )
    result = ingest_file("medical_inpatient", path, options=IngestOptions())
    rows = current(pool_connection(), "SELECT * FROM medical_inpatient ORDER BY _line")
    zeng = Person.objects.get(name="曾小明").pk
    reviewed = LinkReview.objects.filter(candidate_id=zeng, line=2).exists()
    assert rows[0]["person_id"] == zeng or reviewed
    if rows[0]["person_id"] == zeng:
        assert rows[0]["link_method"] == "probabilistic" and result.linked == 1
    assert rows[1]["person_id"] is None
    assert result.invalid_ids == 2
