"""The command line as a user meets it: real `cosmo` and `python PIPELINE.py` processes, no engine.

Configuration mistakes end in one `Error: ...` line and a non-zero exit, before anything is built,
started or written; `--dry-run` prints the plan under any executor and writes nothing.
"""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cosmo_blocks.cli import main
from tests.conftest import REPO, SAMPLE_SEEDS, run_cli

QUICKSTART = str(REPO / "pipelines" / "quickstart.py")

STEP_PIPELINE = """
from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.seeds import SeedReader
from datatrove.pipeline.writers import JsonlWriter


def build(opts):
    return [SeedReader(opts.seeds), {step}, JsonlWriter(f"{{opts.output}}/data")]


if __name__ == "__main__":
    pipeline_main(build)
"""

COPY_PIPELINE = STEP_PIPELINE.format(step="PromptBuilder()")


def write_pipeline(folder: Path, step: str, name: str = "my_pipeline.py") -> Path:
    path = folder / name
    path.write_text(STEP_PIPELINE.format(step=step))
    return path


def both_ways(script: str, *args: str, cwd: Path = REPO, env: dict | None = None):
    """The same pipeline through `cosmo run` and as `python SCRIPT`."""
    return [
        run_cli("-m", "cosmo_blocks.cli", "run", script, *args, cwd=cwd, env=env),
        run_cli(script, *args, cwd=cwd, env=env),
    ]


def assert_one_clean_error(result, fragment: str):
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and result.stderr.strip().splitlines()[-1] == errors[0], result.stderr[-3000:]
    assert fragment in errors[0], errors[0]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--executor", "nosuch"], "unknown executor preset 'nosuch'"),
        (["--executor", "{tmp}/bad.toml"], "invalid TOML"),
        (["--set", "tasks=abc"], "--set tasks: tasks must be an integer, got 'abc'"),
        (["--set", "gpus_per_tsak=2"], "did you mean 'gpus_per_task'?"),
        (["--partition", "gpu"], "partition applies to slurm executors only"),
        (["--seeds", "{tmp}/no-such-seeds.jsonl"], "does not exist"),
        (["--model", "{tmp}/no-such-model"], "does not exist"),
        (["--endpoint", "http://localhost:9"], "--endpoint needs --model"),
    ],
    ids=["unknown-preset", "bad-toml", "set-type", "set-key", "slurm-option", "seeds", "model", "endpoint"],
)
def test_option_mistakes_fail_cleanly(tmp_path, args, fragment):
    (tmp_path / "bad.toml").write_text("tasks = [\n")
    out = tmp_path / "out"
    args = [a.format(tmp=tmp_path) for a in args]
    for result in both_ways(QUICKSTART, *args, "--output", str(out)):
        assert_one_clean_error(result, fragment)
        assert not out.exists()  # nothing started, nothing written


@pytest.mark.parametrize(
    "step, fragment",
    [
        ('PromptBuilder(mix={{"poem": 1}})', "unknown format(s) ['poem']"),
        ('PromptBuilder(audiences=["aliens"])', "unknown audience(s) ['aliens']"),
        ("PromptBuilder(templates_dir={templates!r})", "names field(s) {nosuch}"),
        ("SeedReader(opts.seeds, source='nosuch')", "unknown seed source 'nosuch'"),
    ],
    ids=["format", "audience", "template-field", "source"],
)
def test_build_mistakes_fail_cleanly(tmp_path, step, fragment):
    templates = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", templates)
    story = templates / "en" / "story.txt"
    story.write_text(story.read_text() + "\n{nosuch}\n")
    script = write_pipeline(tmp_path, step.format(templates=str(templates)))
    out = tmp_path / "out"
    for result in both_ways(str(script), "--seeds", str(SAMPLE_SEEDS), "--output", str(out)):
        assert_one_clean_error(result, fragment)
        assert not out.exists()


def test_unknown_pipeline_name_lists_the_bundled_ones(tmp_path):
    result = run_cli("-m", "cosmo_blocks.cli", "run", "quikstart", cwd=tmp_path)
    assert_one_clean_error(result, "no pipeline 'quikstart'")
    assert "quickstart" in result.stderr


def test_dry_run_local_prints_the_plan_and_writes_nothing(tmp_path):
    """A bundled pipeline by name, from a folder outside the checkout."""
    out = tmp_path / "out"
    result = run_cli(
        "-m", "cosmo_blocks.cli", "run", "quickstart", "--dry-run", "--output", "out", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    plan = result.stdout
    size = SAMPLE_SEEDS.stat().st_size
    assert "executor: local" in plan and "stage main: 1 task(s), workers 1" in plan
    assert f"seed files: 1, {size / 1024:.1f} KiB" in plan and str(SAMPLE_SEEDS) in plan
    assert "model: default (resolved on each task's host" in plan
    assert "tensor parallel: 1 GPU(s) per engine" in plan and "tensor_parallel_size=1" in plan
    assert f"writes: {out}/data" in plan and f"rejects: {out}/rejects/length" in plan
    assert "vLLM engine" not in result.stderr
    assert not out.exists()


def test_dry_run_never_runs_a_pipeline(tmp_path):
    """A pipeline without any engine: --dry-run used to run it under the local executor."""
    script = tmp_path / "copy_seeds.py"
    script.write_text(COPY_PIPELINE)
    out = tmp_path / "out"
    for result in both_ways(str(script), "--seeds", str(SAMPLE_SEEDS), "--output", str(out), "--dry-run"):
        assert result.returncode == 0, result.stderr[-3000:]
        assert "stage main: 1 task(s)" in result.stdout
        assert not out.exists()


def test_dry_run_slurm_without_a_cluster_shows_tensor_parallelism(tmp_path):
    # a machine without SLURM's client, for real: a PATH with only what the pipeline's blocks need
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bwrap", "setpriv"):
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {"PATH": str(bin_dir)}
    out = tmp_path / "out"
    args = ("--executor", "slurm", "--output", str(out), "--dry-run")
    default, one_gpu = (
        run_cli("-m", "cosmo_blocks.cli", "run", "quickstart", *args, *extra, env=env)
        for extra in ((), ("--set", "gpus_per_task=1"))
    )
    for result, gpus in ((default, 2), (one_gpu, 1)):
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"tensor parallel: {gpus} GPU(s) per engine" in result.stdout
        assert f"tensor_parallel_size={gpus}" in result.stdout and f"#SBATCH --gpus={gpus}" in result.stdout
        assert "stage main: 1000 task(s)" in result.stdout and "launch_pickled_pipeline" in result.stdout
        assert "sbatch not found" in result.stderr
    assert not out.exists()


def test_dry_run_shows_every_stage(tmp_path):
    script = tmp_path / "stages.py"
    script.write_text(
        "from datatrove.pipeline.writers import JsonlWriter\n"
        "from cosmo_blocks.run import Stage\n"
        "from cosmo_blocks.seeds import SeedReader\n\n"
        "def build(opts):\n"
        "    return [Stage('copy', [SeedReader(opts.seeds), JsonlWriter(opts.output + '/copy')], tasks=3),\n"
        "            Stage('merge', [JsonlWriter(opts.output + '/merged')], tasks=1)]\n"
    )
    result = run_cli(
        "-m", "cosmo_blocks.cli", "run", "stages.py", "--seeds", str(SAMPLE_SEEDS), "--output", "out",
        "--dry-run", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "stage copy: 3 task(s), workers 1, logs in out/logs/copy" in result.stdout
    assert "stage merge: 1 task(s), workers 1, logs in out/logs/merge" in result.stdout
    assert not (tmp_path / "out").exists()


def test_local_run_writes_record_and_prints_summary(tmp_path):
    """A pipeline path relative to the working folder; the run record and summary of a local run."""
    (tmp_path / "copy_seeds.py").write_text(COPY_PIPELINE)
    result = run_cli(
        "-m",
        "cosmo_blocks.cli",
        "run",
        "copy_seeds.py",
        "--seeds",
        str(SAMPLE_SEEDS),
        "--output",
        "out",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    logs = tmp_path / "out" / "logs"
    record = json.loads((logs / "cosmo_run.json").read_text())
    assert record["executor"] == "local"
    assert [(s["name"], s["tasks"]) for s in record["stages"]] == [("main", 1)]
    summary = json.loads((logs / "summary.json").read_text())
    assert summary["prompts"] == 30 and summary["kept"] == 30  # the writer wrote every prompt
    assert "prompts: 30" in result.stdout and "wall time:" in result.stdout


def test_help_has_examples_and_choices():
    runner = CliRunner()

    def help_text(*command):  # click wraps lines: compare words
        return " ".join(runner.invoke(main, [*command, "--help"]).output.split())

    run_help = help_text("run")
    assert "Examples:" in run_help and "cosmo run quickstart" in run_help
    assert "local, ray, ray-cpu, ray-local, slurm, slurm-cpu, slurm-local" in run_help  # presets
    assert "quickstart" in run_help.split("Bundled pipelines:")[1]
    assert "array throttle" in run_help and "actors on Ray" in run_help and "write nothing" in run_help
    assert "gpus_per_task" in run_help.split("--set")[-1]  # the fields --set takes
    render_help = help_text("prompts", "render")
    assert "blogpost, forum_qa, story, textbook, wikihow" in render_help
    assert "young_children" in render_help and "Examples:" in render_help
    assert "Template language: en, ko." in render_help
    for command in ([], ["status"], ["tiny-model"], ["prompts", "render"]):
        assert "Example" in help_text(*command), command
    script_help = run_cli(QUICKSTART, "--help")
    assert script_help.returncode == 0 and "    cosmo run quickstart --output" in script_help.stdout


def test_version():
    from importlib.metadata import version

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"cosmo, version {version('cosmo-blocks')}"


def test_prompts_render_shows_a_pipelines_prompts_without_an_engine(tmp_path):
    """`--pipeline quickstart`: the same prompts the recipe's PromptBuilder gives, nothing run after it."""
    from cosmo_blocks import keys
    from cosmo_blocks.prompts import PromptBuilder
    from cosmo_blocks.seeds import SeedReader, TopicExtractor
    from tests.conftest import run_steps

    result = run_cli(
        "-m", "cosmo_blocks.cli", "prompts", "render", "--pipeline", "quickstart", "-n", "3", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    expected = run_steps([SeedReader(str(SAMPLE_SEEDS)), TopicExtractor(), PromptBuilder(variants=2)])[:3]
    shown = result.stdout.split("=== ")[1:]
    assert [block.split(" ", 1)[0] for block in shown] == [d.id for d in expected]
    for block, doc in zip(shown, expected, strict=True):
        assert block.split("\n", 1)[1].rstrip("\n") == doc.metadata[keys.PROMPT].rstrip("\n")
    assert list(tmp_path.iterdir()) == []  # nothing written where it ran


MULTI_STAGE_PIPELINE = """
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.run import Stage
from cosmo_blocks.seeds import SeedReader, TopicExtractor


def build(opts):
    return [
        Stage("outline", [SeedReader(opts.seeds), TopicExtractor(), PromptBuilder(templates_dir={templates!r},
              mix={{"story": 1}}, language=opts.param("language", "en")), opts.generator()]),
        Stage("units", [SeedReader(opts.seeds), opts.generator(), PromptBuilder(), opts.generator()]),
    ]
"""


def test_prompts_render_shows_system_prompts_and_each_stage(tmp_path):
    templates = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", templates)
    (templates / "ko" / "story.system.txt").write_text("당신은 {{ audience }} 독자를 위한 작가입니다.\n")
    script = tmp_path / "two_stages.py"
    script.write_text(MULTI_STAGE_PIPELINE.format(templates=str(templates)))
    args = ["prompts", "render", "--pipeline", str(script), "--seeds", str(SAMPLE_SEEDS), "-n", "2"]
    result = run_cli("-m", "cosmo_blocks.cli", *args, "--param", "language='ko'")
    assert result.returncode == 0, result.stderr
    outline, units = result.stdout.split("# stage units\n")
    assert outline.startswith("# stage outline\n") and outline.count("=== ") == 2
    assert outline.count("--- system prompt\n") == 2 and "독자를 위한 작가입니다.\n--- prompt\n" in outline
    assert "format=story" in outline and "language=ko" in outline
    assert (
        units.strip()
        == "(its prompts need VLLMGenerator, which generates: run the pipeline, then render from what it wrote)"
    )


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--pipeline", "quickstart", "--format", "story"], "--format apply to the default templates only"),
        (["--pipeline", "quickstart", "--param", "x=1", "--language", "ko"], "--language apply"),
        (
            ["--pipeline", "mix", "--seeds", str(SAMPLE_SEEDS), "--param", f"synthetic='{SAMPLE_SEEDS}'"],
            "no PromptBuilder step",
        ),
        (["--pipeline", "nosuch"], "no pipeline 'nosuch'"),
        ([], "give --seeds"),
        (["--seeds", str(SAMPLE_SEEDS), "--param", "x=1"], "--param and --output apply with --pipeline only"),
    ],
    ids=["format", "language", "no-builder", "unknown", "nothing", "param"],
)
def test_prompts_render_mistakes_fail_cleanly(tmp_path, args, fragment):
    result = run_cli("-m", "cosmo_blocks.cli", "prompts", "render", *args, cwd=tmp_path)
    assert_one_clean_error(result, fragment)


EARLIER_STAGE_PIPELINE = """
from datatrove.pipeline.writers import JsonlWriter

from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.run import Stage
from cosmo_blocks.seeds import SeedReader, TopicExtractor


def build(opts):
    return [
        Stage("copy", [SeedReader(opts.seeds), JsonlWriter(f"{opts.output}/copied")]),
        Stage("prompts", [SeedReader(f"{opts.output}/copied", from_earlier_stage=True), TopicExtractor(),
                          PromptBuilder()]),
    ]
"""


def test_prompts_render_reads_what_earlier_stages_wrote_under_output(tmp_path):
    script = tmp_path / "chained.py"
    script.write_text(EARLIER_STAGE_PIPELINE)
    args = ["prompts", "render", "--pipeline", str(script), "--seeds", str(SAMPLE_SEEDS), "-n", "1"]
    result = run_cli("-m", "cosmo_blocks.cli", *args, cwd=tmp_path)
    # nothing there yet: said, not an error (the earlier stages' prompts still show)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# stage prompts\n(no prompts yet: this stage reads ")
    assert (
        "/copied, which an earlier stage writes; run the pipeline, then render with --output" in result.stdout
    )
    (tmp_path / "run" / "copied").mkdir(parents=True)
    shutil.copy(SAMPLE_SEEDS, tmp_path / "run" / "copied" / "00000.jsonl")
    result = run_cli("-m", "cosmo_blocks.cli", *args, "--output", str(tmp_path / "run"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# stage prompts\n=== wiki-photosynthesis/0 ")
