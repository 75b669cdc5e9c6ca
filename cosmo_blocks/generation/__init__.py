from cosmo_blocks.generation.models import GPU_DEFAULT
from cosmo_blocks.generation.sampling import PRESETS
from cosmo_blocks.generation.server import OpenAIServerGenerator
from cosmo_blocks.generation.tiny_model import build_tiny_model
from cosmo_blocks.generation.vllm_generator import VLLMGenerator

__all__ = ["GPU_DEFAULT", "PRESETS", "OpenAIServerGenerator", "VLLMGenerator", "build_tiny_model"]
