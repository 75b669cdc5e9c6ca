from cosmo_blocks.generation.engine import DEFAULT_MODEL
from cosmo_blocks.generation.sampling import PRESETS
from cosmo_blocks.generation.server import OpenAIServerGenerator
from cosmo_blocks.generation.tiny_model import build_tiny_model
from cosmo_blocks.generation.vllm_generator import VLLMGenerator

__all__ = ["DEFAULT_MODEL", "PRESETS", "OpenAIServerGenerator", "VLLMGenerator", "build_tiny_model"]
