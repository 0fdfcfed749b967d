"""The merchant categories members browse by. Existing rows (matched by code) keep any edits made
by staff since; missing ones are added."""

from django.db import migrations

CATEGORIES = [
    # (code, name, English name, icon, sort order)
    ("supermarkets", "百货超市", "Department Stores & Supermarkets", "🛒", 10),
    ("entertainment", "休闲娱乐", "Leisure & Entertainment", "🎬", 20),
    ("dining", "酒店餐饮", "Hotels & Dining", "🍜", 30),
    ("health", "医疗健康", "Medical & Health", "🏥", 40),
    ("services", "生活服务", "Everyday Services", "🧺", 50),
    ("travel", "旅游出行", "Travel & Transport", "🚄", 60),
    ("education", "教育培训", "Education & Training", "📚", 70),
    ("finance", "金融服务", "Financial Services", "🏦", 80),
]


def seed_categories(apps, schema_editor):
    Category = apps.get_model("merchants", "Category")
    for code, name, name_en, icon, sort_order in CATEGORIES:
        Category.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "icon": icon, "sort_order": sort_order}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0002_initial"),
    ]

    operations = [
        migrations.RunPython(seed_categories, migrations.RunPython.noop),
    ]
