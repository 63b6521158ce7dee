import getpass

from django.core.management.base import BaseCommand, CommandError

from doudi.core.audit import audit_record
from doudi.core.models import Region, Role, User


class Command(BaseCommand):
    help = "创建用户并指定角色和所属区划 / create a user with a role and a region"

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--region", required=True, help="区划代码 / region code, e.g. 370611001"
        )
        parser.add_argument("--name", default="", help="姓名 / full name")
        parser.add_argument("--password", default=None, help="省略则交互输入 / prompt if omitted")

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        region = Region.objects.filter(code=o["region"]).first()
        if region is None:
            raise CommandError(f"未知区划代码 {o['region']} / unknown region code")
        if User.objects.filter(username=o["username"]).exists():
            raise CommandError(f"用户 {o['username']} 已存在 / user exists")
        password = o["password"] or getpass.getpass("密码 / password: ")
        if len(password) < 8:
            raise CommandError("密码至少 8 位 / password must have at least 8 characters")
        user = User(
            username=o["username"],
            role=o["role"],
            region=region,
            full_name=o["name"],
            is_staff=o["role"] == Role.CITY_ADMIN,
        )
        user.set_password(password)
        user.save()
        audit_record(
            actor=None,
            event="user.create",
            subject_type="user",
            subject_id=user.pk,
            subject_label=user.username,
            new={"role": user.role, "region": region.code},
        )
        self.stdout.write(
            f"已创建 / created {user.username} ({user.get_role_display()}, {region.name})"
        )
