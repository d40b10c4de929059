"""Checks every browser test can run on a page: axe-core's accessibility rules, no sideways scroll.

axe-core comes from npm (``tests/e2e/package.json``, installed by ``npm ci`` from
``./scripts/test`` or ``.ci/run``); its script is evaluated in the page through the
DevTools protocol, so the client's strict Content-Security-Policy does not block it.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from tests.support.services import require

__all__ = [
    "AXE_PATH",
    "BLOCKING_IMPACTS",
    "assert_accessible",
    "assert_no_horizontal_scroll",
    "axe_source",
    "axe_violations",
    "format_violations",
]

E2E = Path(__file__).resolve().parent
AXE_PATH = E2E / "node_modules" / "axe-core" / "axe.min.js"
# axe's impacts are minor < moderate < serious < critical; the last two fail a test.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


@functools.cache
def _read_axe() -> str:
    return AXE_PATH.read_text(encoding="utf-8")


def axe_source() -> str:
    """axe.min.js; skips (or fails under ``FILMNIGHT_REQUIRE_SERVICES=1``) without it."""
    require(shutil.which("node") is not None, "Node.js (node on PATH, for axe-core)")
    require(
        AXE_PATH.is_file(),
        "axe-core (run: npm ci --prefix tests/e2e; ./scripts/test does it when missing)",
    )
    return _read_axe()


def axe_violations(page: Page, *, include: str | None = None) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now (or on the elements matching ``include``)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result: list[dict[str, Any]] = page.evaluate(
        """async (include) => {
            const context = include ? { include: [include] } : document;
            const run = await window.axe.run(context, { resultTypes: ["violations"] });
            return run.violations.map((v) => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({
                    target: n.target.map((t) => (Array.isArray(t) ? t.join(" >>> ") : t)),
                    impact: n.impact,
                    summary: n.failureSummary || "",
                    html: n.html.slice(0, 200),
                })),
            }));
        }""",
        include,
    )
    return result


def format_violations(violations: list[dict[str, Any]], where: str) -> str:
    lines = [f"axe-core: {len(violations)} serious or critical violation(s) on {where}:"]
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:8]:
            lines.append(f"    at {', '.join(node['target'])}")
            lines.append(f"       {node['html']}")
            for detail in node["summary"].splitlines()[1:3]:
                lines.append(f"       {detail.strip()}")
        if len(violation["nodes"]) > 8:
            lines.append(f"    ... and {len(violation['nodes']) - 8} more")
    return "\n".join(lines)


def assert_accessible(page: Page, where: str) -> None:
    """Fail on any serious or critical axe-core violation, naming rule, impact and targets."""
    blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, format_violations(blocking, where)


def assert_no_horizontal_scroll(page: Page, where: str) -> None:
    """The page is no wider than the viewport (nothing scrolls sideways)."""
    widths: dict[str, Any] = page.evaluate(
        """() => {
            const root = document.documentElement;
            const wide = [...document.querySelectorAll("body *")]
                .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
                .slice(0, 5)
                .map((el) => {
                    const id = el.id ? "#" + el.id : "";
                    const cls = el.classList.length ? "." + [...el.classList].join(".") : "";
                    return `${el.tagName.toLowerCase()}${id}${cls}`
                        + ` (right ${Math.round(el.getBoundingClientRect().right)})`;
                });
            return { scroll: root.scrollWidth, inner: window.innerWidth, wide };
        }"""
    )
    assert widths["scroll"] <= widths["inner"], (
        f"{where}: the page scrolls sideways: scrollWidth {widths['scroll']} > "
        f"innerWidth {widths['inner']}; widest elements: {widths['wide']}"
    )
