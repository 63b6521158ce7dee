"""Error pages in Chinese (with English), never a stack trace."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def _page(
    request: HttpRequest, status: int, title: str, title_en: str, detail: str
) -> HttpResponse:
    return render(
        request,
        "errors/problem.html",
        {"title": title, "title_en": title_en, "detail": detail},
        status=status,
    )


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(
        request,
        403,
        "无权访问",
        "Forbidden",
        "您的角色不能使用此功能。如需权限，请联系市民政局系统管理员。",
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page(request, 404, "未找到", "Not found", "您要找的内容不存在，或不在您的管辖范围内。")


def server_error(request: HttpRequest) -> HttpResponse:
    return _page(
        request,
        500,
        "系统出错",
        "Server error",
        "处理请求时出错，已记录日志。请稍后重试；如反复出现，请联系系统管理员。",
    )
