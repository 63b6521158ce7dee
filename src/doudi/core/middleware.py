"""Turn failures a user can do something about into a clear page in Chinese (and English), never a
stack trace; and make the request's IP and path available to the audit log."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth.middleware import LoginRequiredMiddleware as _DjangoLoginRequired
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware as _DjangoLocale
from django.shortcuts import render

from doudi.core.audit import RequestInfo, reset_request_info, set_request_info
from doudi.core.crypto import FieldKeyMissing

log = logging.getLogger(__name__)

_NOT_MIGRATED_MARKERS = ("no such table", "does not exist", "undefined table", "no such column")


def database_not_ready(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, DatabaseError) and any(m in text for m in _NOT_MIGRATED_MARKERS)


class FriendlyErrorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        forwarded = request.META.get("REMOTE_ADDR")
        token = set_request_info(RequestInfo(ip=forwarded or None, path=request.get_full_path()))
        try:
            return self.get_response(request)
        finally:
            reset_request_info(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, FieldKeyMissing):
            log.error("field key missing: %s", exception)
            return render(
                request,
                "errors/problem.html",
                {
                    "title": "系统未配置加密密钥",
                    "title_en": "Encryption key not configured",
                    "detail": str(exception),
                },
                status=503,
            )
        if database_not_ready(exception):
            log.error("database not migrated: %s", exception)
            return render(
                request,
                "errors/problem.html",
                {
                    "title": "数据库尚未初始化",
                    "title_en": "The database is not initialised",
                    "detail": "请由管理员运行 `doudi manage migrate`（演示环境运行 `doudi demo`）"
                    "后刷新本页。 / Ask an administrator to run `doudi manage migrate` "
                    "(or `doudi demo`), then reload.",
                },
                status=503,
            )
        return None


class LoginRequiredMiddleware(_DjangoLoginRequired):
    """Django's login-required default for pages; the API authenticates itself (bearer token or
    session) and answers 401 in JSON rather than redirecting to the login page."""

    def process_view(self, request, view_func, view_args, view_kwargs):  # type: ignore[no-untyped-def]
        if request.path_info.startswith("/api/"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class LocaleMiddleware(_DjangoLocale):
    """Simplified Chinese unless the user picked another language (the language cookie); the
    browser's Accept-Language is ignored, so a clerk on an English-locale browser still gets the
    Chinese UI by default."""

    def process_request(self, request):  # type: ignore[no-untyped-def]
        from django.conf import settings
        from django.utils import translation

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        codes = {code for code, _ in settings.LANGUAGES}
        language = chosen if chosen in codes else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
