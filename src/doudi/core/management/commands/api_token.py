from django.core.management.base import BaseCommand, CommandError

from doudi.core.models import User
from doudi.core.tokens import api_token_issue


class Command(BaseCommand):
    help = "为用户签发接口令牌（只显示一次） / issue an API token for a user (shown once)"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        parser.add_argument("--name", default="api", help="用途 / purpose")

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        user = User.objects.filter(username=o["username"]).first()
        if user is None:
            raise CommandError(f"用户 {o['username']} 不存在 / no such user")
        self.stdout.write(api_token_issue(actor=None, user=user, name=o["name"]))
