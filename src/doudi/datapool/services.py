"""Data pool writes: receiving files, clerks' link decisions, towns' return receipts."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from doudi.core import crypto
from doudi.core.access import region_in_jurisdiction
from doudi.core.audit import audit_record
from doudi.core.models import Region, Role, User
from doudi.datapool.ingest import IngestOptions, ingest_file
from doudi.datapool.models import IngestFile, LinkOverride, LinkReview, QuarantineRow, ReturnReceipt

CAN_INGEST = frozenset(
    {Role.CITY_ADMIN, Role.CITY_ANALYST, Role.COUNTY_APPROVER, Role.TOWN_CLERK, Role.DEPARTMENT_API}
)
CITY_ROLES = frozenset({Role.CITY_ADMIN, Role.CITY_ANALYST})


def can_ingest(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in CAN_INGEST)


def can_see_ingest(user: User, ingest: IngestFile) -> bool:
    """City staff see every file; others the files they sent."""
    if not user.is_authenticated:
        return False
    return user.role in CITY_ROLES or ingest.uploaded_by_id == user.pk


def ingest_upload(
    *,
    user: User,
    interface: str,
    path: Path,
    file_name: str,
    source: str = IngestFile.Source.UPLOAD,
) -> IngestFile:
    if not can_ingest(user):
        raise PermissionDenied("无权上传数据 / not allowed to send data")
    return ingest_file(
        interface, path, file_name=file_name, options=IngestOptions(source=source, user=user)
    )


def ingest_rows(
    *, user: User, interface: str, rows: list[dict[str, object]], batch_name: str
) -> IngestFile:
    """A department's push of JSON rows through the API: ingested like a JSON-lines file."""
    if not can_ingest(user):
        raise PermissionDenied("无权推送数据 / not allowed to push data")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.jsonl"
        path.write_text(
            "\n".join(json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) for r in rows)
            + "\n",
            encoding="utf-8",
        )
        return ingest_file(
            interface,
            path,
            file_name=batch_name,
            options=IngestOptions(source=IngestFile.Source.API, user=user),
        )


def quarantine_export(*, user: User, ingest: IngestFile) -> list[dict[str, object]]:
    """Quarantined rows with their original cells (decrypted), for the department to fix; audited."""
    if not can_see_ingest(user, ingest):
        raise PermissionDenied
    rows = []
    for q in QuarantineRow.objects.filter(ingest=ingest).order_by("line"):
        rows.append(
            {"line": q.line, "reason": q.reason, "data": json.loads(crypto.decrypt(q.data_enc))}
        )
    audit_record(
        actor=user,
        event="datapool.quarantine_export",
        subject_type="ingest",
        subject_id=ingest.pk,
        subject_label=ingest.file_name,
        new={"rows": len(rows)},
    )
    return rows


def link_review_decide(*, user: User, review: LinkReview, confirm: bool) -> LinkReview:
    """A clerk confirms (the row is about this person) or rejects (it is not) a suggested link."""
    if review.status != LinkReview.Status.PENDING:
        raise ValueError("该匹配已处理 / already decided")
    if not region_in_jurisdiction(user, review.region_id):
        raise PermissionDenied
    with transaction.atomic():
        review.status = LinkReview.Status.CONFIRMED if confirm else LinkReview.Status.REJECTED
        review.decided_by = user
        review.decided_at = timezone.now()
        review.save(update_fields=["status", "decided_by", "decided_at"])
        if confirm:
            LinkOverride.objects.update_or_create(
                interface=review.interface,
                record_key=review.record_key,
                defaults={"person_id": review.candidate_id, "decided_by": user},
            )
        audit_record(
            actor=user,
            event="datapool.link_confirm" if confirm else "datapool.link_reject",
            subject_type="person",
            subject_id=review.candidate_id,
            subject_label=review.name,
            region_code=review.region_id,
            new={
                "interface": review.interface,
                "line": review.line,
                "probability": round(review.probability, 4),
            },
        )
    return review


def returned_mark_seen(*, user: User, town: Region, seen: dict[str, tuple[int, int]]) -> None:
    """Record that the town was shown each interface's facts up to an ingest (数据返还)."""
    with transaction.atomic():
        for interface, (up_to, items) in seen.items():
            receipt, _ = ReturnReceipt.objects.get_or_create(town=town, interface=interface)
            if up_to > receipt.up_to_ingest:
                receipt.up_to_ingest = up_to
                receipt.items = items
                receipt.viewed_by = user
                receipt.save()
        audit_record(
            actor=user,
            event="datapool.returned_view",
            subject_type="town",
            subject_id=town.code,
            subject_label=town.name,
            region_code=town.code,
            new={k: v[0] for k, v in seen.items()},
        )


def registry_refresh(*, force: bool = False) -> bool:
    """Re-export the registry into the store if it changed (rules join pool rows to persons)."""
    from doudi.datapool import store
    from doudi.datapool.registry_export import registry_export

    return registry_export(store.pool_root(), force=force)


#: how often the scheduler brings the registry export up to date (minutes)
REGISTRY_REFRESH_MINUTES = 15
_last_refresh: dict[str, float] = {}


def registry_tick(now: float | None = None) -> bool:
    """Called every minute by the scheduler of ``doudi serve``: every
    ``REGISTRY_REFRESH_MINUTES`` merge the day's registry changes into the export, so that the
    night's run and the next department file rarely have to (at 7M persons a merge takes about
    5 s). True if an export was written."""
    import time

    now = time.monotonic() if now is None else now
    last = _last_refresh.get("at")
    if last is not None and now - last < REGISTRY_REFRESH_MINUTES * 60:
        return False
    _last_refresh["at"] = now
    return registry_refresh()
