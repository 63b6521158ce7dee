"""The HTTP API for other departments' systems and for scripts: bearer tokens
(``doudi manage api_token USER``) or the browser session."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.security import HttpBearer, SessionAuth

from doudi.core.tokens import api_token_user


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):  # type: ignore[no-untyped-def]
        return api_token_user(token)


class Session(SessionAuth):
    def authenticate(self, request: HttpRequest, key):  # type: ignore[no-untyped-def]
        user = super().authenticate(request, key)
        return user or None


api = NinjaAPI(
    title="doudi API",
    version="1",
    urls_namespace="api",
    description="兜底社会救助平台接口 / doudi social assistance API",
    auth=[BearerToken(), Session()],
)
api.add_router("/registry", "doudi.registry.api.router")
api.add_router("/datapool", "doudi.datapool.api.router")
