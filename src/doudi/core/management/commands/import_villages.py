from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from doudi.core.regions import VillageImportError, villages_import_csv


class Command(BaseCommand):
    help = (
        "从 CSV（code,name[,kind,residence_type]）导入真实村居 / import real villages and "
        "communities from a CSV"
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("csv", type=Path)

    def handle(self, *args, **o):  # type: ignore[no-untyped-def]
        if not o["csv"].exists():
            raise CommandError(f"找不到文件 {o['csv']} / file not found")
        try:
            n = villages_import_csv(o["csv"])
        except VillageImportError as exc:
            raise CommandError(f"{exc}（未导入任何数据 / nothing imported）") from exc
        self.stdout.write(f"已导入 {n} 个村居 / imported {n} villages")
