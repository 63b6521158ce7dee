"""Writing the audit log. Every service that changes state, and every view or export of a person's
details, calls :func:`audit_record` inside its own transaction, so the change and its audit row
commit together or not at all."""

from __future__ import annotations

import contextvars
import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Any

from doudi.core.models import AuditEvent, User


@dataclass(frozen=True)
class RequestInfo:
    ip: str | None
    path: str


_request_info: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "doudi_request_info", default=None
)


def set_request_info(info: RequestInfo | None) -> contextvars.Token[RequestInfo | None]:
    return _request_info.set(info)


def reset_request_info(token: contextvars.Token[RequestInfo | None]) -> None:
    _request_info.reset(token)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def audit_record(
    *,
    actor: User | None,
    event: str,
    subject_type: str = "",
    subject_id: str | int = "",
    subject_label: str = "",
    region_code: str = "",
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row. ``event`` is a dotted code such as ``person.reveal_id``."""
    info = _request_info.get()
    actor_obj = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(
        actor=actor_obj,
        actor_label=actor_obj.get_username() if actor_obj else "system",
        actor_role=getattr(actor_obj, "role", "") or "",
        event=event,
        subject_type=subject_type,
        subject_id=str(subject_id),
        subject_label=subject_label[:200],
        region_code=region_code,
        old=_jsonable(old) if old is not None else None,
        new=_jsonable(new) if new is not None else None,
        ip=info.ip if info else None,
        path=info.path[:300] if info else "",
    )
