"""Load Yantai's official divisions (city, counties, towns) from core/data/yantai_divisions.csv."""

from django.db import migrations


def load(apps, schema_editor):
    from doudi.core.regions import load_official

    load_official(apps.get_model("core", "Region"))


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
