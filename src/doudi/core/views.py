from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from doudi.core import access
from doudi.core.models import AuditEvent, Role, User
from doudi.registry import selectors as registry


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context: dict[str, object] = {"role": user.role}
    if user.role in access.REGION_SCOPED:
        persons = registry.persons_visible_to(user)
        households = registry.households_visible_to(user)
        context["person_count"] = persons.count()
        context["household_count"] = households.filter(status="active").count()
        context["deceased_count"] = persons.filter(status="dead").count()
        if user.region is not None and user.role != Role.VILLAGE_WORKER:
            context["breakdown"] = registry.person_counts_by_child_region(
                user=user, region=user.region
            )
        if user.role == Role.VILLAGE_WORKER:
            context["households"] = (
                households.filter(status="active")
                .annotate(size=Count("memberships", filter=Q(memberships__end_date__isnull=True)))
                .order_by("address")[:200]
            )
        prefix = access.jurisdiction_prefix(user) or ""
        context["recent_events"] = registry.recent_events_in(prefix=prefix)[:10]
    elif user.role == Role.CARETAKER:
        context["assigned"] = registry.persons_visible_to(user).order_by("name")
    return render(request, "core/home.html", context)


def audit_log(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not access.can_view_audit(user):
        raise PermissionDenied
    qs = AuditEvent.objects.all()
    f = {
        k: request.GET.get(k, "").strip()
        for k in ("actor", "event", "subject", "date_from", "date_to", "region")
    }
    if f["actor"]:
        qs = qs.filter(actor_label__icontains=f["actor"])
    if f["event"]:
        qs = qs.filter(event__startswith=f["event"])
    if f["subject"]:
        qs = qs.filter(Q(subject_label__icontains=f["subject"]) | Q(subject_id=f["subject"]))
    if f["region"]:
        qs = qs.filter(region_code__startswith=f["region"])
    for key, lookup in (("date_from", "at__date__gte"), ("date_to", "at__date__lte")):
        if f[key]:
            try:
                qs = qs.filter(**{lookup: dt.date.fromisoformat(f[key])})
            except ValueError:
                f[key] = ""
    page = Paginator(qs.select_related("actor"), 50).get_page(request.GET.get("page"))
    events = AuditEvent.objects.order_by().values_list("event", flat=True).distinct()
    return render(
        request, "core/audit.html", {"page": page, "filters": f, "event_codes": sorted(set(events))}
    )


def users(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not access.can_manage_users_role(user):
        raise PermissionDenied
    qs = User.objects.select_related("region").order_by("role", "username")
    return render(request, "core/users.html", {"users": qs})
