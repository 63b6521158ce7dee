"""``doudi demo``: build a small synthetic city into the embedded database and serve it.

Idempotent: a second run reuses the database, the generated files and the accounts, and adds
nothing. ``doudi load DIR`` loads a city generated separately with ``doudi generate``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from doudi.config import bootstrap, env

DEMO_PASSWORD = "doudi-demo-2026"
CITY = "370600"
COUNTY = "370611"  # 福山区
TOWN = "370611001"  # 清洋街道

#: username, full name, role, region (None = the first village of TOWN), department
DEMO_ACCOUNTS: list[tuple[str, str, str, str | None, str]] = [
    ("admin", "王建国", "city_admin", CITY, "烟台市民政局"),
    ("analyst", "李文静", "city_analyst", CITY, "烟台市民政局"),
    ("county", "张立新", "county_approver", COUNTY, "福山区民政局"),
    ("clerk", "刘晓燕", "town_clerk", TOWN, "清洋街道社会救助窗口"),
    ("clerk2", "孙海涛", "town_clerk", "370611002", "福新街道社会救助窗口"),
    ("village", "赵春梅", "village_worker", None, "网格员"),
    ("carer", "陈桂英", "caretaker", None, "照护人"),
    ("medins", "医保局接口", "department_api", CITY, "烟台市医疗保障局"),
]


def _ensure_demo_key(data: Path) -> None:
    if os.environ.get("DOUDI_FIELD_KEY"):
        return
    path = data / env.DEMO_KEY_FILE
    if not path.exists():
        from doudi.core.crypto import new_master_key

        path.write_text(new_master_key())
        path.chmod(0o600)
        print(
            f"已生成演示用加密密钥 {path}（仅供演示；生产环境请设置 DOUDI_FIELD_KEY）"
            " / wrote a demo-only encryption key",
            flush=True,
        )


def _accounts() -> list[dict[str, str]]:
    from doudi.core.audit import audit_record
    from doudi.core.models import Region, User
    from doudi.registry.models import Household, Person, PersonAssignment

    village = (
        Region.objects.filter(parent_id=TOWN, level="village")
        .filter(code__in=Household.objects.values("region_id"))
        .order_by("code")
        .first()
    )
    printed = []
    for username, full_name, role, region_code, dept in DEMO_ACCOUNTS:
        region_id = region_code or (village.code if village else TOWN)
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "full_name": full_name,
                "role": role,
                "region_id": region_id,
                "department": dept,
                "is_staff": role == "city_admin",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
            audit_record(
                actor=None,
                event="user.create",
                subject_type="user",
                subject_id=user.pk,
                subject_label=username,
                new={"role": role, "region": region_id},
            )
        printed.append(
            {
                "username": username,
                "password": DEMO_PASSWORD,
                "role": user.get_role_display(),
                "region": user.region.name,
            }
        )
    carer = User.objects.get(username="carer")
    if village and not PersonAssignment.objects.filter(user=carer).exists():
        elderly = Person.objects.filter(
            residence_region__code__startswith=TOWN,
            status="present",
            birth_date__lte=dt.date(1951, 1, 1),
        ).order_by("birth_date")[:6]
        for p in elderly:
            PersonAssignment.objects.create(
                user=carer, person=p, kind="care", start_date=dt.date(2025, 3, 1)
            )
            audit_record(
                actor=None,
                event="assignment.create",
                subject_type="person",
                subject_id=p.pk,
                subject_label=p.name,
                region_code=p.residence_region_id,
                new={"user": carer.username, "kind": "care"},
            )
    return printed


def _history(seed: int, today: dt.date) -> dict[str, int]:
    """A year of registry history through the real services: deaths, imprisonments, moves, splits."""
    from django.db.models import Count, Q

    from doudi.registry import services
    from doudi.registry.models import Household, Person, PersonStatus, RegistryEvent

    if RegistryEvent.objects.exclude(kind=RegistryEvent.Kind.REGISTERED).exists():
        return {}
    rng = random.Random(seed)
    start = today - dt.timedelta(days=365)
    counts = {"deaths": 0, "status": 0, "moves": 0, "splits": 0}
    # deaths: about 8 per 1,000 a year (Shandong's crude death rate is of that order, assumed),
    # drawn among the elderly with weights rising with age
    elderly = list(
        Person.objects.filter(status="present", birth_date__lte=today.replace(year=today.year - 60))
        .values_list("id", "birth_date")
        .order_by("id")
    )
    total = Person.objects.count()
    weights = [max(1.0, (today.year - b.year - 55) ** 2) for _, b in elderly]
    chosen: set[int] = set()
    target = min(len(elderly), max(5, round(total * 0.008)))
    while len(chosen) < target:
        chosen.update(
            pid for pid, _ in rng.choices(elderly, weights=weights, k=target - len(chosen))
        )
    for pid in sorted(chosen):
        person = Person.objects.get(pk=pid)
        when = start + dt.timedelta(days=rng.randrange(365))
        services.person_record_death(actor=None, person=person, date=when)
        counts["deaths"] += 1
    adults = list(
        Person.objects.filter(
            status="present", birth_date__range=(dt.date(1960, 1, 1), dt.date(2000, 1, 1))
        )
        .values_list("id", flat=True)
        .order_by("id")
    )
    for pid in rng.sample(adults, k=min(len(adults), max(2, len(adults) // 2000))):
        person = Person.objects.get(pk=pid)
        services.person_set_status(
            actor=None,
            person=person,
            status=PersonStatus.PRISON,
            date=start + dt.timedelta(days=rng.randrange(365)),
            note="司法行政部门通报",
        )
        counts["status"] += 1
    big = list(
        Household.objects.annotate(
            n=Count("memberships", filter=Q(memberships__end_date__isnull=True))
        )
        .filter(n__gte=4)
        .values_list("id", flat=True)
        .order_by("id")
    )
    for hid in rng.sample(big, k=min(len(big), max(2, len(big) // 200))):
        household = Household.objects.get(pk=hid)
        members = list(
            household.memberships.filter(end_date__isnull=True)
            .exclude(relation="head")
            .select_related("person")
            .filter(person__status="present", person__birth_date__lte=dt.date(2004, 1, 1))
            .order_by("person__birth_date")
        )
        if len(members) < 1:
            continue
        moving = [members[-1].person_id]
        services.household_split(
            actor=None,
            household=household,
            person_ids=moving,
            new_head_id=moving[0],
            date=start + dt.timedelta(days=rng.randrange(365)),
        )
        counts["splits"] += 1
    targets = list(
        Household.objects.filter(status="active").values_list("id", flat=True).order_by("id")
    )
    for pid in rng.sample(adults, k=min(len(adults), max(2, len(adults) // 400))):
        person = Person.objects.get(pk=pid)
        current = person.memberships.filter(end_date__isnull=True).first()
        if person.status != "present" or current is None or current.relation == "head":
            continue
        to = Household.objects.get(pk=rng.choice(targets))
        if to.pk == current.household_id:
            continue
        services.person_move(
            actor=None,
            person=person,
            to_household=to,
            relation="other",
            date=start + dt.timedelta(days=rng.randrange(365)),
        )
        counts["moves"] += 1
    return counts


def _pool(data: Path, *, persons: int, seed: int) -> dict[str, object]:
    """The departments' feeds for the demo city, ingested into the data pool: a year of monthly
    files and the last week's daily files, then the bulk probabilistic linking, then the towns'
    data-return receipts up to a week ago (so the share-rate page shows what is still due)."""

    from doudi.datapool.catalog import load_catalog
    from doudi.datapool.ingest import IngestOptions, ingest_file
    from doudi.datapool.linking import link_pending
    from doudi.datapool.models import IngestFile, ReturnReceipt
    from doudi.synth.feeds import generate_feeds

    if IngestFile.objects.exists():
        return {"skipped": True}
    city = data / f"synth-{persons}-{seed}"
    feeds = city / "feeds"
    if not (feeds / "manifest.json").exists():
        print("正在生成部门数据 / generating the departments' feeds …", flush=True)
        # the feeds end at the start of this month, so the pool holds the year before today
        from django.utils import timezone

        as_of = timezone.localdate().replace(day=1)
        generate_feeds(city_dir=city, out_dir=feeds, seed=seed, as_of=as_of)
    print("正在接收部门数据入数据池 / ingesting the feeds into the data pool …", flush=True)
    files = rows = 0
    week_ago = 0
    for interface in load_catalog():
        folder = feeds / interface.code
        if not folder.exists():
            continue
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            try:
                result = ingest_file(
                    interface.code, path, options=IngestOptions(probabilistic=False)
                )
            except Exception as exc:  # noqa: BLE001 - a demo file that fails is reported
                print(f"  {path.name}: {exc}", flush=True)
                continue
            files += 1
            rows += result.rows
            if len(path.stem) <= len(interface.code) + 8:  # monthly history file
                week_ago = max(week_ago, result.pk)
    print(f"  {files} 个文件 / files, {rows:,} 行 / rows", flush=True)
    print("正在按姓名拼音等匹配无身份证号的数据 / probabilistic linking …", flush=True)
    linking = link_pending()
    from doudi.core.models import Region

    receipts = [
        ReturnReceipt(town=t, interface=i.code, up_to_ingest=week_ago)
        for t in Region.objects.filter(level="town")
        for i in load_catalog().returned()
    ]
    ReturnReceipt.objects.bulk_create(receipts, ignore_conflicts=True)
    return {"files": files, "rows": rows, "linking": linking}


def build(*, persons: int, seed: int, data: Path) -> dict[str, object]:
    t0 = time.perf_counter()
    _ensure_demo_key(data)
    bootstrap.setup()
    from django.core.management import call_command

    from doudi.registry import loader

    print("正在初始化数据库 / migrating the database …", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    from doudi.core.models import Region
    from doudi.core.regions import load_official

    if Region.objects.filter(level="town").count() < 159:  # emptied by hand or by a test flush
        load_official(Region)
    summary: dict[str, object] = {}
    if loader.city_loaded():
        print("演示城市已存在，直接使用 / the demo city exists, reusing it", flush=True)
    else:
        from doudi.synth.generator import generate

        out = data / f"synth-{persons}-{seed}"
        if not (out / "persons.parquet").exists():
            print(
                f"正在生成合成城市（{persons:,} 人）/ generating the synthetic city …", flush=True
            )
            summary["generate"] = generate(persons=persons, seed=seed, out_dir=out)
        print("正在导入人口库 / loading the registry …", flush=True)
        summary["load"] = loader.load_city(out, progress=lambda s: print("  " + s, flush=True))
        print("正在生成一年的登记历史 / adding a year of history …", flush=True)
        from django.utils import timezone

        summary["history"] = _history(seed, timezone.localdate())
    summary["pool"] = _pool(data, persons=persons, seed=seed)
    summary["accounts"] = _accounts()
    from django.utils import timezone

    from doudi.policy.demo import seed as policy_seed

    print("正在进行一年的全市分层分类认定 / a year of quarterly sweeps …", flush=True)
    summary["policy"] = policy_seed(
        city_dir=data / f"synth-{persons}-{seed}",
        today=timezone.localdate(),
        progress=lambda s: print("  " + s, flush=True),
    )
    from doudi.benefits.demo import seed as benefits_seed

    print("正在建立待遇并生成一年的发放名册 / benefits and a year of payment rolls …", flush=True)
    summary["benefits"] = benefits_seed(
        today=timezone.localdate(), progress=lambda s: print("  " + s, flush=True)
    )
    from doudi.monitoring.demo import seed as monitoring_seed

    print("正在进行一年的监测预警与处置 / a year of monitoring and alert handling …", flush=True)
    summary["monitoring"] = monitoring_seed(
        today=timezone.localdate(), progress=lambda s: print("  " + s, flush=True)
    )
    from doudi.cases.demo import seed as cases_seed

    print("正在生成一年的一门受理办件 / a year of one-window cases …", flush=True)
    summary["cases"] = cases_seed(
        today=timezone.localdate(), progress=lambda s: print("  " + s, flush=True)
    )
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    return summary


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="doudi demo", description="构建演示城市并启动服务 / build the demo city and serve it"
    )
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-serve", action="store_true", help="构建后退出 / build and exit")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(list(argv))
    if args.persons < 1000:
        print("--persons 至少为 1000 / must be at least 1000", file=sys.stderr)
        return 2
    data = env.data_dir()
    summary = build(persons=args.persons, seed=args.seed, data=data)
    print(
        json.dumps(
            {k: v for k, v in summary.items() if k != "accounts"}, ensure_ascii=False, default=str
        )
    )
    print(f"\n演示账号 / demo accounts (密码 / password: {DEMO_PASSWORD})")
    for a in summary["accounts"]:  # type: ignore[union-attr]
        print(f"  {a['username']:<8} {a['role']:<10} {a['region']}")
    if args.no_serve:
        return 0
    from doudi.config.serve import serve

    print(f"\n请在浏览器打开 / open http://{args.host}:{args.port}/", flush=True)
    serve(host=args.host, port=args.port, threads=8)
    return 0


def load_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="doudi load", description="导入 doudi generate 生成的城市 / load a generated city"
    )
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(list(argv))
    bootstrap.setup()
    if not bootstrap.require_ready():
        return 1
    from doudi.registry import loader
    from doudi.registry.errors import RegistryError

    try:
        result = loader.load_city(
            args.directory, progress=lambda s: print("  " + s, file=sys.stderr)
        )
    except RegistryError as exc:
        print(
            f"导入失败，未写入任何数据：{exc.zh} / load failed, nothing written: {exc.en}",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(result, ensure_ascii=False))
    return 0
