"""The import direction, read from the source with ``ast`` (never by importing it).

``realtime/`` and ``scraper/`` stand on their own: they never import ``server``.
The pure domain modules import no web framework, ORM or crawler, not even
through another module of the project (importing ``server.voting.round_state``
runs every ``__init__`` on its way and every project module it imports, so all
of those are followed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("realtime", "scraper", "server")
FRAMEWORKS = frozenset({"litestar", "sqlalchemy", "advanced_alchemy", "scrapy"})
PURE = (
    "server.errors",
    "server.voting.methods",
    "server.voting.round_state",
    "server.party.playback",
    "server.party.ready",
    "server.watchlists.candidates",
    "server.watchlists.limits",
    "server.sessions.rules",
    "server.streaming.offers",
    "server.streaming.availability",
)


def _path(module: str, root: Path = ROOT) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(module: str, root: Path = ROOT) -> set[str]:
    """Every module ``module`` imports, by absolute dotted name (relative ones resolved)."""
    path = _path(module, root)
    assert path is not None, module
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.add(name)
            # ``from pkg import mod`` imports the module ``pkg.mod`` when there is one
            found.update(f"{name}.{a.name}" for a in node.names if _path(f"{name}.{a.name}", root))
    return found


def _running(module: str) -> list[str]:
    """``module`` and the packages whose ``__init__`` runs before it."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def closure(module: str, root: Path = ROOT) -> dict[str, str]:
    """Every module importing ``module`` loads, each with the project module that imports it."""
    seen: dict[str, str] = {}
    todo = [(name, module) for name in _running(module)]
    while todo:
        name, via = todo.pop()
        if name in seen:
            continue
        seen[name] = via
        if name.split(".")[0] in PACKAGES and _path(name, root) is not None:
            for imported in _imports(name, root):
                for step in _running(imported):
                    todo.append((step, name))
    return seen


def _modules(package: str) -> list[str]:
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / package).rglob("*.py")
    )


@pytest.mark.parametrize("package", ["realtime", "scraper"])
def test_realtime_and_scraper_never_import_server(package: str) -> None:
    modules = _modules(package)
    assert len(modules) > 5
    wrong = {
        module: sorted(i for i in _imports(module) if i.split(".")[0] == "server")
        for module in modules
    }
    assert {module: names for module, names in wrong.items() if names} == {}


@pytest.mark.parametrize("module", PURE)
def test_pure_domain_modules_import_no_framework_even_indirectly(module: str) -> None:
    loaded = closure(module)
    assert module in loaded
    offending = {name: via for name, via in loaded.items() if name.split(".")[0] in FRAMEWORKS}
    assert offending == {}


def test_the_check_finds_a_framework_behind_a_project_module(tmp_path: Path) -> None:
    """A pure module importing an error base that imports Litestar is caught, relative
    imports and ``from package import module`` included."""
    (tmp_path / "server" / "voting").mkdir(parents=True)
    (tmp_path / "server" / "__init__.py").write_text("")
    (tmp_path / "server" / "voting" / "__init__.py").write_text("")
    (tmp_path / "server" / "errors.py").write_text(
        "from litestar.exceptions import HTTPException\n"
    )
    (tmp_path / "server" / "voting" / "methods.py").write_text("from .. import errors\n")
    (tmp_path / "server" / "voting" / "round_state.py").write_text(
        "from server.voting.methods import tally\n"
    )
    loaded = closure("server.voting.round_state", tmp_path)
    assert loaded["litestar.exceptions"] == "server.errors"
    assert loaded["server.errors"] == "server.voting.methods"
    # and on the real tree, a module that does use the ORM is seen to
    assert "sqlalchemy" in closure("server.voting.service")
