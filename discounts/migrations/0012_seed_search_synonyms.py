"""The first groups of search synonyms (staff add more in the admin)."""

from django.db import migrations

GROUPS = [
    ["电影", "影城", "观影", "影院", "影视"],
    ["超市", "商超", "便利店", "购物"],
    ["健身", "运动", "体育", "游泳"],
    ["餐饮", "美食", "餐厅", "饭店"],
    ["书店", "图书", "阅读"],
    ["加油", "加油站", "油站"],
    ["体检", "健康", "医疗"],
]


def seed_synonyms(apps, schema_editor):
    SearchSynonym = apps.get_model("discounts", "SearchSynonym")
    for words in GROUPS:
        if not SearchSynonym.objects.filter(words__overlap=words).exists():
            SearchSynonym.objects.create(words=words)


class Migration(migrations.Migration):
    dependencies = [("discounts", "0011_search_synonyms")]

    operations = [migrations.RunPython(seed_synonyms, migrations.RunPython.noop)]
