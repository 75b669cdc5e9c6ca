"""The quickstart as a new user without a GPU runs it: no --model, so SmolLM2-135M writes real English.

A few seeds only: the real model generates a few hundred tokens/s on two cores.
"""

import re

import pytest

from cosmo_blocks.generation.sampling import PRESETS
from tests.conftest import read_jsonl, run_cli

pytestmark = pytest.mark.engine
FUNCTION_WORDS = {"the", "and", "of", "to", "a", "in", "is", "that", "it", "for", "are", "as", "with", "you"}


def english_score(text: str) -> tuple[float, float]:
    """(share of alphabetic words, share of English function words among them)."""
    tokens = text.split()
    words = [w.lower() for t in tokens for w in re.findall(r"^[\W]*([A-Za-z]+(?:'[a-z]+)?)[\W]*$", t)]
    return len(words) / max(1, len(tokens)), sum(w in FUNCTION_WORDS for w in words) / max(1, len(words))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    output = tmp_path_factory.mktemp("qs-smollm2")
    result = run_cli("pipelines/quickstart.py", "--output", str(output), "--limit", "2", timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [
        r for path in sorted(output.rglob("*.jsonl")) if "logs" not in path.parts for r in read_jsonl(path)
    ]
    return result, records


def test_no_gpu_and_no_model_means_smollm2_said_loudly(run):
    result, records = run
    assert "No GPU and no --model" in result.stderr and "SmolLM2-135M-Instruct" in result.stderr
    assert "--model" in result.stderr  # how to pick a real one
    assert {r["model"].rsplit("/", 1)[-1] for r in records} == {"smollm2-135m-instruct"}


def test_it_generates_with_the_small_model_preset_on_both_cores(run):
    result, _ = run
    small = PRESETS["small"]
    assert f"'repetition_penalty': {small['repetition_penalty']}" in result.stderr
    # vLLM logs to stdout: its CPU backend computes on every core, none reserved for the front end
    assert "reserve_cpu_num=0" in result.stdout


def test_the_records_are_english_text(run):
    """Real English, unlike the tiny stand-in's noise (whose words are under 60% alphabetic and carry
    few English function words): mostly alphabetic words, and function words among them."""
    _, records = run
    assert len(records) == 4  # 2 seeds x 2 variants, kept or rejected
    for record in records:
        alphabetic, function = english_score(record["text"])
        assert alphabetic > 0.85 and function > 0.05, (
            record["id"],
            alphabetic,
            function,
            record["text"][:300],
        )
