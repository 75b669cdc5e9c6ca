"""generation/engine.py without starting an engine: the one door to vLLM, the model chosen where a task runs."""

import ast
import fcntl
import subprocess
import sys
import time
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


def test_tasks_starting_side_by_side_wait_for_one_build_of_the_stand_in(tmp_path):
    """While one process holds the build lock, another that needs the stand-in waits for it (the
    kernel lists it as a blocked waiter) instead of loading a half-written model."""
    cache = tmp_path / ".cache" / "cosmo-blocks"
    cache.mkdir(parents=True)
    code = "from cosmo_blocks.generation import engine\nprint('MODEL', engine.default_model())\n"
    env = {"HOME": str(tmp_path), "CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin"}
    with open(cache / "tiny-mixtral.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a task that is building it would
        proc = subprocess.Popen(
            [sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 120
            while not any(
                "-> FLOCK" in line and f" {proc.pid} " in line
                for line in Path("/proc/locks").read_text().splitlines()
            ):
                assert proc.poll() is None, "resolved the stand-in without waiting for the build lock"
                assert time.monotonic() < deadline, "never reached the build lock"
                time.sleep(0.05)
            assert not (cache / "tiny-mixtral").exists()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0
    assert f"MODEL {cache / 'tiny-mixtral'}" in out
