from __future__ import annotations

import pytest
from django.db import connection, transaction

from doudi.core import crypto
from doudi.core.audit import audit_record
from doudi.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_audit_is_append_only():
    event = audit_record(
        actor=None, event="test.event", subject_type="x", subject_id=1, old={"a": 1}, new={"a": 2}
    )
    assert AuditEvent.objects.get(pk=event.pk).new == {"a": 2}
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(event="x")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(event="test.event").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="database trigger is PostgreSQL-only")
def test_audit_trigger_refuses_raw_update_on_postgres():
    from django.db import DatabaseError

    audit_record(actor=None, event="test.event")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("UPDATE core_auditevent SET event = 'forged'")


def test_encrypt_round_trip_and_no_plaintext():
    token = crypto.encrypt("370602198001010012")
    assert "370602198001010012" not in token
    assert token != crypto.encrypt("370602198001010012")  # random nonce
    assert crypto.decrypt(token) == "370602198001010012"


def test_blind_index_is_keyed_and_deterministic(settings):
    a = crypto.blind_index("370602198001010012")
    assert a == crypto.blind_index("370602198001010012")
    assert a != crypto.blind_index("370602198001010020")
    settings.DOUDI_FIELD_KEY = crypto.new_master_key()
    assert crypto.blind_index("370602198001010012") != a


@pytest.mark.parametrize("key", ["", "not-base64!!", "c2hvcnQ="])
def test_missing_or_bad_key_gives_clear_error(settings, key):
    settings.DOUDI_FIELD_KEY = key
    with pytest.raises(crypto.FieldKeyMissing) as info:
        crypto.encrypt("x")
    assert "DOUDI_FIELD_KEY" in str(info.value)
    assert "未配置" in str(info.value)
    assert not crypto.keys_available()


def test_blind_index_same_in_duckdb():
    import duckdb

    number = "370602198001010012"
    sql = "select " + crypto.blind_index_sql("?")
    assert duckdb.execute(sql, [number]).fetchone()[0] == crypto.blind_index(number)
