"""Sampling presets: our default settings and the ones Cosmopedia used."""

import orjson

from cosmo_blocks.errors import ConfigError

DEFAULT_PRESET = "default"
SMALL_MODEL_PRESET = "small"

PRESETS = {
    DEFAULT_PRESET: {"temperature": 0.8, "top_p": 0.95, "max_tokens": 2000, "repetition_penalty": 1.1},
    # HuggingFace's Cosmopedia generation scripts
    "cosmopedia": {
        "temperature": 0.6,
        "top_p": 0.95,
        "top_k": 50,
        "repetition_penalty": 1.2,
        "max_tokens": 2500,
    },
    # SmolLM2-135M on CPU, chosen on 300 labelled generations of the bundled seeds (benchmarks/sampling.py,
    # benchmarks/quality.py): repetition penalty 1.2 turns it into word salad, 1.0 into loops; 1.1 ends
    # most texts on its own; every text a reader kept was under 650 tokens and every one that reached
    # the limit was a loop or salad, so 768 tokens lose no keeper and bound the time
    SMALL_MODEL_PRESET: {
        "temperature": 0.6,
        "top_p": 0.95,
        "top_k": 50,
        "repetition_penalty": 1.1,
        "max_tokens": 768,
    },
}


def resolve_sampling(sampling: str | dict) -> dict:
    """A preset name, or a dict of overrides on top of `preset` (default "default")."""
    if isinstance(sampling, str):
        if sampling not in PRESETS:
            raise ConfigError(
                f"unknown sampling preset {sampling!r}; choose one of {sorted(PRESETS)} or a dict"
            )
        return dict(PRESETS[sampling])
    overrides = dict(sampling)
    base = resolve_sampling(overrides.pop("preset", DEFAULT_PRESET))
    return base | overrides


def sampling_key(params: dict) -> bytes:
    """Canonical bytes of a sampling dict, for journal keys."""
    return orjson.dumps(params, option=orjson.OPT_SORT_KEYS)
