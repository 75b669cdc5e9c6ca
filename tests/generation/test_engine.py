"""generation/engine.py without starting an engine: the one door to vLLM, the model chosen where a task runs."""

import ast
from pathlib import Path

import cosmo_blocks

PACKAGE = Path(cosmo_blocks.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_engine_module_imports_vllm():
    importers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(name == "vllm" or name.startswith("vllm.") for name in imported_modules(path))
    }
    assert importers == {"generation/engine.py"}
