"""The data pool part of the API: departments push rows (``POST /api/v1/datapool/{code}/rows``)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from doudi.datapool import services
from doudi.datapool.catalog import UnknownInterface, load_catalog
from doudi.datapool.readers import UnreadableFile

router = Router(tags=["datapool"])


class RowsIn(Schema):
    batch: str
    rows: list[dict[str, object]]


class SummaryOut(Schema):
    interface: str
    file: str
    rows: int
    accepted: int
    quarantined: int
    duplicates: int
    linked: int
    unlinked: int
    review: int
    status: str
    ingest_id: int


@router.post(
    "/{code}/rows",
    response=SummaryOut,
    summary="推送数据行 / push rows (keys: Chinese headers or field names)",
)
def push_rows(request: HttpRequest, code: str, payload: RowsIn):  # type: ignore[no-untyped-def]
    try:
        load_catalog().get(code)
    except UnknownInterface as exc:
        raise HttpError(404, str(exc)) from exc
    if not payload.rows:
        raise HttpError(422, "rows 为空 / rows is empty")
    if len(payload.rows) > 100_000:
        raise HttpError(413, "一次最多推送 100,000 行 / at most 100,000 rows per push")
    try:
        ingest = services.ingest_rows(
            user=request.auth, interface=code, rows=payload.rows, batch_name=payload.batch[:200]
        )
    except PermissionDenied as exc:
        raise HttpError(403, "无权推送数据 / not allowed to push data") from exc
    except UnreadableFile as exc:
        raise HttpError(422, f"{exc.zh} / {exc.en}") from exc
    return ingest.summary()
