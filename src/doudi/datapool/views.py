from __future__ import annotations

import io
import tempfile
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.core.access import jurisdiction_prefix
from doudi.core.models import Role, User
from doudi.datapool import selectors, services
from doudi.datapool.catalog import UnknownInterface, load_catalog
from doudi.datapool.forms import UploadForm
from doudi.datapool.models import IngestFile
from doudi.datapool.readers import UnreadableFile


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _city(user: User) -> bool:
    return user.role in services.CITY_ROLES


def catalog(request: HttpRequest) -> HttpResponse:
    statuses = selectors.catalog_status()
    departments = load_catalog().departments
    return render(
        request,
        "datapool/catalog.html",
        {
            "statuses": statuses,
            "departments": departments,
            "department_count": len({s.interface.department for s in statuses}),
        },
    )


def interface_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        interface = load_catalog().get(code)
    except UnknownInterface as exc:
        raise Http404(code) from exc
    files = selectors.ingest_files(interface=code)
    if not _city(_user(request)):
        files = files.filter(uploaded_by=_user(request))
    return render(
        request,
        "datapool/interface.html",
        {
            "interface": interface,
            "files": files[:50],
            "department": load_catalog().department(interface.department),
        },
    )


def upload(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not services.can_ingest(user):
        raise PermissionDenied
    form = UploadForm(
        request.POST or None,
        request.FILES or None,
        initial={"interface": request.GET.get("interface", "")},
    )
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        suffix = Path(uploaded.name).suffix.lower()[:8]
        with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
            for chunk in uploaded.chunks():
                tmp.write(chunk)
            tmp.flush()
            try:
                ingest = services.ingest_upload(
                    user=user,
                    interface=form.cleaned_data["interface"],
                    path=Path(tmp.name),
                    file_name=uploaded.name,
                )
            except UnreadableFile as exc:
                form.add_error("file", f"{exc.zh}（文件未入库，数据池没有任何改动）")
            else:
                return redirect("datapool:ingest", ingest_id=ingest.pk)
    return render(request, "datapool/upload.html", {"form": form})


def _ingest_for(request: HttpRequest, ingest_id: int) -> IngestFile:
    ingest = get_object_or_404(IngestFile, pk=ingest_id)
    if not services.can_see_ingest(_user(request), ingest):
        raise Http404
    return ingest


def ingest_detail(request: HttpRequest, ingest_id: int) -> HttpResponse:
    ingest = _ingest_for(request, ingest_id)
    page = Paginator(selectors.quarantine_rows(ingest=ingest), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "datapool/ingest.html",
        {
            "ingest": ingest,
            "page": page,
            "interface": load_catalog().get(ingest.interface),
        },
    )


def quarantine_download(request: HttpRequest, ingest_id: int) -> HttpResponse:
    import xlsxwriter

    ingest = _ingest_for(request, ingest_id)
    interface = load_catalog().get(ingest.interface)
    rows = services.quarantine_export(user=_user(request), ingest=ingest)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("隔离数据")
    bold = book.add_format({"bold": True, "bg_color": "#FDECEA", "border": 1})
    text = book.add_format({"num_format": "@"})
    headers = [f.header for f in interface.fields]
    sheet.write_row(0, 0, ["原行号", "隔离原因", *headers], bold)
    for i, row in enumerate(rows, start=1):
        sheet.write_number(i, 0, row["line"])
        sheet.write_string(i, 1, row["reason"])
        for j, f in enumerate(interface.fields, start=2):
            sheet.write_string(i, j, str(row["data"].get(f.name, "") or ""), text)
    sheet.set_column(1, 1, 40)
    sheet.set_column(2, 2 + len(headers), 16, text)
    sheet.freeze_panes(1, 0)
    book.close()
    response = HttpResponse(
        buffer.getvalue(),
        content_type=("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    )
    response["Content-Disposition"] = (
        f'attachment; filename="quarantine-{ingest.interface}-{ingest.pk}.xlsx"'
    )
    return response


def review_queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if jurisdiction_prefix(user) is None:
        raise PermissionDenied
    page = Paginator(selectors.reviews_for_user(user=user), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "datapool/review.html",
        {"page": page, "catalog": {i.code: i for i in load_catalog()}},
    )


@require_POST
def review_decide(request: HttpRequest, review_id: int) -> HttpResponse:
    user = _user(request)
    review = selectors.reviews_for_user(user=user).filter(pk=review_id).first()
    if review is None:
        raise Http404
    confirm = request.POST.get("decision") == "confirm"
    services.link_review_decide(user=user, review=review, confirm=confirm)
    messages.success(request, _("已确认匹配") if confirm else _("已否定匹配"))
    return redirect("datapool:review")


def returned(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    town = selectors.town_of(user)
    if town is None or user.role not in {Role.TOWN_CLERK, Role.VILLAGE_WORKER}:
        raise PermissionDenied
    from doudi.datapool.models import ReturnReceipt

    last_seen = dict(ReturnReceipt.objects.filter(town=town).values_list("interface", "viewed_at"))
    facts = selectors.returned_facts(town=town)
    if user.role == Role.VILLAGE_WORKER:
        for f in facts:
            f.rows[:] = [r for r in f.rows if r["village_code"] == user.region_id]
    services.returned_mark_seen(
        user=user, town=town, seen={f.interface.code: (f.up_to_ingest, f.total) for f in facts}
    )
    return render(
        request,
        "datapool/returned.html",
        {"town": town, "facts": facts, "now": timezone.now(), "since": last_seen},
    )


def share(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not _city(user) and user.role != Role.COUNTY_APPROVER:
        raise PermissionDenied
    rates = selectors.share_rates()
    prefix = jurisdiction_prefix(user) or ""
    rates["towns"] = [t for t in rates["towns"] if t["code"].startswith(prefix)]
    due = sum(t["due"] for t in rates["towns"])
    ret = sum(t["returned"] for t in rates["towns"])
    return render(
        request,
        "datapool/share.html",
        {"rates": rates, "due": due, "returned": ret, "rate": (ret / due) if due else 1.0},
    )
