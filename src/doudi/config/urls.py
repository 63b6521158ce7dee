from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from doudi.config.api import api
from doudi.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("registry/", include("doudi.registry.urls")),
    path("system/", include("doudi.core.urls")),
    path("pool/", include("doudi.datapool.urls")),
    path("policy/", include("doudi.policy.urls")),
    path("benefits/", include("doudi.benefits.urls")),
    path("monitoring/", include("doudi.monitoring.urls")),
    path("cases/", include("doudi.cases.urls")),
    path("api/v1/", api.urls),
]

handler403 = "doudi.core.errors.forbidden"
handler404 = "doudi.core.errors.not_found"
handler500 = "doudi.core.errors.server_error"
