"""generation/engine.py without starting an engine: the one door to vLLM, the model chosen where a task runs."""

import ast
import subprocess
import sys
from pathlib import Path

import cosmo_blocks
from tests.generation.gen_helpers import REPO

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


def test_without_a_gpu_the_default_model_is_the_tiny_stand_in_built_in_the_users_cache(tmp_path):
    """In a fresh process with no visible GPU: built once under ~/.cache, version-stamped, announced."""
    code = (
        "from cosmo_blocks.generation import engine\n"
        "print('MODEL', engine.default_model())\n"
        "print('MODEL', engine.default_model())\n"
    )
    env = {"HOME": str(tmp_path), "CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    expected = tmp_path / ".cache" / "cosmo-blocks" / "tiny-mixtral"
    output = result.stdout + result.stderr
    assert [line for line in output.splitlines() if line.startswith("MODEL")] == [f"MODEL {expected}"] * 2
    assert (expected / "config.json").is_file() and (expected / "cosmo_tiny_model_version").is_file()
    assert output.count("TINY random-weight stand-in") == 2
