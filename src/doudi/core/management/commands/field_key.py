from django.core.management.base import BaseCommand

from doudi.core.crypto import new_master_key


class Command(BaseCommand):
    help = "打印一个新的个人信息加密密钥（DOUDI_FIELD_KEY） / print a new field encryption key"

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(new_master_key())
