"""A real run under datatrove's executor: the generation step's time is counted in stats.json."""

import json

import pytest
from datatrove.executor import LocalPipelineExecutor

from cosmo_blocks.generation import VLLMGenerator
from tests.generation.gen_helpers import ENGINE_KWARGS, documents, prompt_records

pytestmark = pytest.mark.engine


def test_generation_time_counts_in_datatrove_stats(tiny_model, tmp_path):
    block = VLLMGenerator(
        tiny_model, sampling={"max_tokens": 128, "ignore_eos": True}, engine_kwargs=ENGINE_KWARGS, seed=1
    )
    executor = LocalPipelineExecutor(
        [documents(prompt_records(64)), block], logging_dir=str(tmp_path / "logs"), tasks=1, workers=1
    )
    executor.run()
    stats = json.loads((tmp_path / "logs" / "stats.json").read_text())
    step = next(s for s in stats if s["name"] == repr(block))
    time_stats = step["time_stats"]  # datatrove writes a bare 0 when nothing was timed
    counted = time_stats["total"] if isinstance(time_stats, dict) else time_stats
    engine_start = step["stats"]["engine_start_seconds"]["total"]
    generating = step["stats"]["generation_seconds"]["total"]
    assert step["stats"]["generated"] == 64
    # engine start-up and generation both belong to this step; rounding of the two stats aside
    assert counted >= 0.95 * (engine_start + generating) - 0.2, (counted, engine_start, generating)
