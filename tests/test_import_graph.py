"""The import graph of the portal's own packages: no cycles, and no imports
hidden inside functions (the usual way to paper over a cycle) except the
heavy engine libraries, which must stay off the web path."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("portal", "transcription", "api")
# Imported lazily on purpose: torch and funasr cost seconds and ~500 MiB and must never
# load in web processes or before django-q2 forks (DESIGN §5); the model hubs' clients
# (optional: only `asr_models download` and hub names need them) pull in as much again;
# WeTextProcessing's `itn` (native pynini, ~165 MB) loads once a transcript has Chinese numerals.
LAZY_ALLOWED = ("torch", "funasr", "faster_whisper", "modelscope", "modelscope_hub", "huggingface_hub", "itn")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
            if "migrations" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def top_level_imports(tree: ast.Module, name: str, is_package: bool, known: set[str]) -> set[str]:
    """Project modules imported when this module is imported."""
    out: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.Import):
                out.update(alias.name for alias in node.names if alias.name in known)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    if candidate in known:
                        out.add(candidate)
                    elif base in known:
                        out.add(base)
            elif isinstance(node, ast.If | ast.Try | ast.With):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, field, []) or []:
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child])

    visit(tree.body)
    out.discard(name)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: top_level_imports(ast.parse(path.read_text()), name, path.name == "__init__.py", known)
            for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_it_finds_a_cycle_when_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_it_reads_relative_and_from_imports():
    known = {"transcription.asr.engine", "transcription.asr.pipeline", "transcription.models", "portal.models"}
    tree = ast.parse("from . import pipeline\nfrom transcription.models import Job\nimport portal.models\n"
                     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from transcription.models import X\n")
    assert top_level_imports(tree, "transcription.asr.engine", False, known) == {
        "transcription.asr.pipeline", "transcription.models", "portal.models"}


def test_it_has_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 50  # the walk really covers the packages
    assert find_cycle(graph) is None


def test_it_imports_nothing_inside_functions_but_the_engine_libraries():
    hidden = []
    for name, path in project_modules().items():
        for func in ast.walk(ast.parse(path.read_text())):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if name.endswith(".apps") and func.name == "ready":
                continue  # Django's place for app start-up imports
            for node in ast.walk(func):
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    targets = [node.module or "."]
                else:
                    continue
                hidden += [f"{name}.{func.name}: {t}" for t in targets if t.split(".")[0] not in LAZY_ALLOWED]
    assert hidden == []


ENGINE_LIBRARIES = ("torch", "funasr", "faster_whisper", "ctranslate2")


def test_it_imports_the_engine_libraries_only_in_the_asr_package():
    outside = []
    for name, path in project_modules().items():
        if name.startswith("transcription.asr."):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                targets = [node.module or ""]
            else:
                continue
            outside += [f"{name}: {t}" for t in targets if t.split(".")[0] in ENGINE_LIBRARIES]
    assert outside == []
