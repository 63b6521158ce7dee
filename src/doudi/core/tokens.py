"""API bearer tokens: issue (shown once), verify, revoke. Only a SHA-256 of the token is stored."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from doudi.core.audit import audit_record
from doudi.core.models import ApiToken, User


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def api_token_issue(*, actor: User | None, user: User, name: str) -> str:
    token = "dd_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        record = ApiToken.objects.create(
            user=user, name=name, token_hash=_hash(token), prefix=token[:8]
        )
        audit_record(
            actor=actor,
            event="api_token.issue",
            subject_type="user",
            subject_id=user.pk,
            subject_label=user.username,
            new={"token": record.prefix + "…", "name": name},
        )
    return token


def api_token_user(token: str) -> User | None:
    """The active user behind a token, or None."""
    record = (
        ApiToken.objects.select_related("user", "user__region")
        .filter(token_hash=_hash(token), revoked_at__isnull=True)
        .first()
    )
    if record is None or not record.user.is_active:
        return None
    ApiToken.objects.filter(pk=record.pk).update(last_used_at=timezone.now())
    return record.user


def api_token_revoke(*, actor: User | None, token_prefix: str, user: User) -> int:
    with transaction.atomic():
        n = ApiToken.objects.filter(user=user, prefix=token_prefix, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        audit_record(
            actor=actor,
            event="api_token.revoke",
            subject_type="user",
            subject_id=user.pk,
            subject_label=user.username,
            new={"token": token_prefix + "…", "revoked": n},
        )
    return n
