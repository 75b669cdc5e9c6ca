"""Broken configurations fail at construction, before any engine starts."""

import pytest

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation import OpenAIServerGenerator, VLLMGenerator
from cosmo_blocks.generation.base import GenerationBlock
from cosmo_blocks.generation.journal import entry_key
from cosmo_blocks.generation.sampling import resolve_sampling
from cosmo_blocks.generation.server_process import engine_flags


def test_missing_model_path_is_named():
    with pytest.raises(ConfigError, match="/no/such/path"):
        VLLMGenerator(model="/no/such/path")
    with pytest.raises(ConfigError, match="/no/such/path"):
        OpenAIServerGenerator(model="/no/such/path")


def test_model_folder_without_config(tmp_path):
    with pytest.raises(ConfigError, match="config.json"):
        VLLMGenerator(model=str(tmp_path))


@pytest.mark.parametrize(
    "sampling, match",
    [({"temperature": -1}, "temperature"), ({"top_p": 2.0}, "top_p"), ({"no_such_setting": 1}, "no_such")],
)
def test_invalid_sampling_fails_at_construction(tiny_model, sampling, match):
    with pytest.raises(ConfigError, match=match):
        VLLMGenerator(model=tiny_model, sampling=sampling)
    with pytest.raises(ConfigError, match=match):
        OpenAIServerGenerator(model=tiny_model, endpoint="http://127.0.0.1:1", sampling=sampling)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown sampling preset"):
        VLLMGenerator(model="org/model", sampling="nope")


def test_default_preset_is_named_default():
    assert (
        resolve_sampling("default")
        == resolve_sampling({})
        == {"temperature": 0.8, "top_p": 0.95, "max_tokens": 2000, "repetition_penalty": 1.1}
    )
    assert resolve_sampling({"preset": "default", "top_p": 0.5})["top_p"] == 0.5
    with pytest.raises(ConfigError, match="'seed'"):  # "seed" names seed documents and the random seed
        resolve_sampling("seed")


def test_journal_key_changes_with_prompt_model_and_sampling():
    base = entry_key("p", "m", b"s")
    assert (
        len({base, entry_key("p2", "m", b"s"), entry_key("p", "m2", b"s"), entry_key("p", "m", b"s2")}) == 4
    )
    assert entry_key("ab", "c", b"") != entry_key("a", "bc", b"")


def test_seed_is_part_of_the_key():
    a = VLLMGenerator(model="org/model", sampling="default", seed=1)
    b = VLLMGenerator(model="org/model", sampling="default", seed=2)
    assert a.journal_key("p") != b.journal_key("p")
    assert (
        a.request_seed("x")
        == VLLMGenerator(model="org/model", seed=1).request_seed("x")
        != a.request_seed("y")
    )


def test_engine_flags():
    flags = engine_flags({"max_model_len": 4096, "enforce_eager": True, "enable_prefix_caching": False})
    assert flags == ["--max-model-len", "4096", "--enforce-eager", "--no-enable-prefix-caching"]
    config = {"backend": "xgrammar", "disable_any_whitespace": True}
    assert engine_flags({"structured_outputs_config": config}) == [
        "--structured-outputs-config",
        '{"backend": "xgrammar", "disable_any_whitespace": true}',
    ]


def test_tiny_model_cache_is_rebuilt_when_its_version_changes(tmp_path):
    from cosmo_blocks.generation.tiny_model import VERSION_FILE, build_tiny_model, is_current_tiny_model

    assert not is_current_tiny_model(tmp_path / "tiny")
    path = build_tiny_model(tmp_path / "tiny")
    assert is_current_tiny_model(path)
    (path / VERSION_FILE).write_text("0")  # a copy cached by an older cosmo-blocks
    assert not is_current_tiny_model(path)


def test_a_block_without_a_model_says_so_when_its_task_starts():
    class Block(GenerationBlock):
        pass

    with pytest.raises(ConfigError, match="Block needs a model"):
        list(Block(None)([]))
