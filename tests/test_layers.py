"""Imports point one way: an app reads the apps below it, never one above.

The order is declared once, in :data:`LAYERS`, bottom first. Every module of every app is read with
``ast`` (imports at module level and inside functions, ``import x`` and ``from x import y``, and
``import_module``/``import_string`` of a literal name; migrations excepted, they only name models),
and an import of an app above the importing one fails the build, naming the module and the line. An
app of the project that is not in the list fails too: a new app says where it sits."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps

BASE_DIR = Path(__file__).resolve().parent.parent

# Bottom first. `portal` is the project: settings, root URLs, roles and scoping, audit, errors, the dev
# services and the launcher. `stats` reads every app (coverage statistics and the whole-province demo).
LAYERS = [
    "portal",
    "notifications",
    "members",
    "funds",
    "banking",
    "allowances",
    "merchants",
    "webhooks",
    "discounts",
    "shop",
    "settlement",
    "cities",
    "stats",
]

# Calls that import a module named by a string: a literal name is an import like any other.
IMPORTING_CALLS = {"import_module", "import_string", "__import__"}


@dataclass(frozen=True)
class UpwardImport:
    path: str
    line: int
    imported: str
    app: str
    above: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.imported} ({self.above} is above {self.app})"


def _imported_names(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The dotted names an import statement (or an importing call with a literal) brings in."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            package = module if is_package else module.rpartition(".")[0]
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts)
            prefix = f"{base}.{node.module}" if node.module else base
        else:
            prefix = node.module or ""
        return [prefix] if node.module else [f"{prefix}.{alias.name}" for alias in node.names]
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in IMPORTING_CALLS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return [first.value]
    return []


def upward_imports(
    source: str, *, module: str, path: str = "<source>", is_package: bool = False
) -> list[UpwardImport]:
    """Every import in ``source`` (the module ``module``) of an app above the module's own app."""
    app = module.split(".")[0]
    level = LAYERS.index(app)
    found = []
    for node in ast.walk(ast.parse(source)):
        for imported in _imported_names(node, module, is_package):
            target = imported.split(".")[0]
            if target in LAYERS and LAYERS.index(target) > level:
                found.append(UpwardImport(path, node.lineno, imported, app, target))
    return sorted(found, key=lambda found_import: (found_import.path, found_import.line))


def project_apps() -> set[str]:
    """The installed apps whose code is a top-level package of this repository."""
    return {
        config.name.split(".")[0]
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == BASE_DIR
    }


def app_modules(app: str):
    """(path, dotted module name, is package) of every module of ``app``, migrations excepted."""
    root = BASE_DIR / app
    for file in sorted(root.rglob("*.py")):
        relative = file.relative_to(BASE_DIR)
        if "migrations" in relative.parts:
            continue
        parts = list(relative.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        yield str(relative), ".".join(parts), is_package


def test_every_app_declares_its_layer():
    assert sorted(project_apps() - set(LAYERS)) == [], "apps missing from LAYERS: add them where they sit"
    assert sorted(set(LAYERS) - project_apps()) == [], "LAYERS names apps that are not installed"


def test_no_app_imports_an_app_above_it():
    found = []
    for app in LAYERS:
        for path, module, is_package in app_modules(app):
            source = (BASE_DIR / path).read_text(encoding="utf-8")
            found += upward_imports(source, module=module, path=path, is_package=is_package)
    assert not found, "imports that run back up:\n" + "\n".join(map(str, found))


def test_the_checker_finds_an_upward_import_wherever_it_hides():
    source = (
        "from __future__ import annotations\n"
        "import os\n"
        "from portal.errors import NotFound\n"  # down: fine
        "from notifications import services\n"  # down: fine
        "from discounts.models import Redemption\n"  # up
        "def export(member):\n"
        "    import stats.coverage\n"  # up, inside a function
        "    from . import pii\n"  # its own app
        "    from merchants import models\n"  # up
        "    return importlib.import_module('discounts.selectors')\n"  # up, by name
    )
    found = upward_imports(source, module="members.people", path="members/people.py")
    assert [(f.line, f.imported, f.above) for f in found] == [
        (5, "discounts.models", "discounts"),
        (7, "stats.coverage", "stats"),
        (9, "merchants", "merchants"),
        (10, "discounts.selectors", "discounts"),
    ]
    assert str(found[0]) == "members/people.py:5 imports discounts.models (discounts is above members)"
    # The app at the top may read everything; the one at the bottom nothing but itself.
    assert upward_imports(source, module="stats.demo") == []
    assert [f.above for f in upward_imports("import members\n", module="portal.admin")] == ["members"]
