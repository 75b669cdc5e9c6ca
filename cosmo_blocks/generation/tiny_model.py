"""A tiny Mixtral-architecture model built on the spot, for laptops and CI.

No model hub is reachable from CI, so tests and the CPU quickstart use a ~1M
parameter Mixtral with random weights and a byte-level BPE tokenizer trained on
a few sentences. Its text is noise; it exercises the real engine end to end.

Random weights alone almost never emit end-of-sequence, so every generation would run
to max_tokens. Two reserved residual dimensions give the model a sentence sense: the
period's embedding lights up dimension 0, every token carries a constant on dimension 1,
no layer writes to either, and the EOS row of the output head reads them as "after a
period: stop; otherwise: never". Generations then end after a sentence, a few hundred
tokens in on average, like a real model's would (some reach max_tokens).
"""

from pathlib import Path

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}"
)

_CORPUS = [
    "Write a chapter of a textbook about photosynthesis for college students.",
    "The cell is the basic unit of life. Plants turn light into chemical energy.",
    "Once upon a time, a curious child asked why the sky is blue.",
    "다음 주제에 대한 교과서 스타일의 설명을 작성하세요. 요구사항: 명확한 설명.",
    "Step 1: gather your materials. Step 2: measure twice, cut once.",
    "Question: how do prime numbers work? Answer: a prime has exactly two divisors.",
    "In summary, the derivative measures how a function changes.",
]


# bump when the weights or tokenizer built here change, so cached copies are rebuilt
TINY_MODEL_VERSION = "2"
VERSION_FILE = "cosmo_tiny_model_version"


def is_current_tiny_model(path: str | Path) -> bool:
    marker = Path(path) / VERSION_FILE
    return marker.is_file() and marker.read_text().strip() == TINY_MODEL_VERSION


def build_tiny_model(path: str | Path, seed: int = 0, vocab_size: int = 512) -> Path:
    """Write a loadable tiny Mixtral (config, bf16 weights, tokenizer, chat template) to `path`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import MixtralConfig, MixtralForCausalLM, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    special = ["<unk>", "<s>", "</s>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(_CORPUS * 20, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="</s>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(path)

    torch.manual_seed(seed)
    config = MixtralConfig(
        vocab_size=len(fast),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        num_local_experts=4,
        num_experts_per_tok=2,
        max_position_embeddings=4096,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        torch_dtype="bfloat16",
    )
    model = MixtralForCausalLM(config)
    _stop_after_periods(model, fast.convert_tokens_to_ids("."), fast.eos_token_id)
    model.to(torch.bfloat16).save_pretrained(path)
    (path / VERSION_FILE).write_text(TINY_MODEL_VERSION)
    return path


def _stop_after_periods(model, period_id: int, eos_id: int) -> None:
    import torch

    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("o_proj.weight"):
                param[0:2] = 0
            elif "down_proj" in name:  # fused experts: (experts, hidden, intermediate)
                param[..., 0:2, :] = 0
        embed = model.model.embed_tokens.weight
        embed[:, 0], embed[:, 1] = 0.0, 1.0
        embed[period_id, 0] = 10.0
        head = model.lm_head.weight
        head[eos_id] = 0.0
        head[eos_id, 0], head[eos_id, 1] = 3.0, -1.0
        # periods a little rarer than an average token: ~400 generated tokens at the median
        head[period_id, 1] = -0.04
