"""A ModelSpec from a Hugging Face config.json, read offline, architecture by architecture.

Each supported ``model_type`` has a reader that maps its config's field names (and the class's
defaults when a field is absent) onto the figures the estimate needs; the parameter count is then
the family's exact count (advisor/estimate/families/), which tests check against the real classes
(tests/test_estimate_transformers.py). A model type without a reader is refused in one line: a
guess would look like an answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from advisor.errors import AdvisorError
from advisor.knowledge.models import Activation, Head, ModelSpec

Config = dict[str, Any]

# hidden_act / activation_function as transformers' ACT2FN names them -> what the MLP saves
ACTIVATIONS: dict[str, Activation] = {
    "gelu": "gelu",
    "gelu_python": "gelu",
    "gelu_pytorch_tanh": "gelu_tanh",
    "gelu_new": "gelu_new",
    "gelu_fast": "gelu_fast",
    "quick_gelu": "quick_gelu",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
}
# What the class name in "architectures" puts on top of the stack.
HEADS: dict[str, Head] = {
    "ForCausalLM": "causal_lm",
    "LMHeadModel": "causal_lm",
    "ForMaskedLM": "masked_lm",
    "ForSequenceClassification": "seq_cls",
    "ForImageClassification": "image_cls",
    "ForConditionalGeneration": "seq2seq_lm",
    "Model": "none",
}


def _int(cfg: Config, *keys: str, default: int | None = None) -> int | None:
    for key in keys:
        value = cfg.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and value > 0:
            return value
    return default


def _float(cfg: Config, *keys: str, default: float = 0.0) -> float:
    for key in keys:
        value = cfg.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return default


def _require(cfg: Config, where: str, **fields: int | None) -> dict[str, int]:
    missing = [name for name, value in fields.items() if value is None]
    if missing:
        raise AdvisorError(f"{where}: the config has no {', '.join(missing)}")
    return {k: v for k, v in fields.items() if v is not None}


def _activation(cfg: Config, where: str, *keys: str, default: str) -> Activation:
    name = next((str(cfg[k]) for k in keys if isinstance(cfg.get(k), str)), default)
    if name.lower() not in ACTIVATIONS:
        raise AdvisorError(
            f"{where}: activation {name!r} is not one advisor models ({', '.join(ACTIVATIONS)})"
        )
    return ACTIVATIONS[name.lower()]


def _labels(cfg: Config) -> int:
    id2label = cfg.get("id2label")
    if isinstance(id2label, dict) and id2label:
        return len(id2label)
    return _int(cfg, "num_labels", default=2) or 2


def _gpt2(cfg: Config, where: str) -> dict[str, Any]:
    # GPT2Config's defaults (the 124M model) fill what the file leaves out, as transformers does
    h = _int(cfg, "n_embd", "hidden_size", default=768)
    layers, heads = _int(cfg, "n_layer", default=12), _int(cfg, "n_head", default=12)
    need = _require(cfg, where, hidden=h, layers=layers, heads=heads)
    hidden = need["hidden"]
    resid = _float(cfg, "resid_pdrop", default=0.1)
    return dict(
        kind="decoder",
        hidden_size=hidden,
        num_layers=need["layers"],
        num_attention_heads=need["heads"],
        intermediate_size=_int(cfg, "n_inner") or 4 * hidden,
        mlp="gelu",
        activation=_activation(cfg, where, "activation_function", default="gelu_new"),
        norm="layernorm",
        vocab_size=_int(cfg, "vocab_size", default=50257),
        max_seq_len=_int(cfg, "n_positions", default=1024),
        tie_embeddings=cfg.get("tie_word_embeddings", True) is not False,
        fused_qkv=True,
        qkv_bias=True,
        out_bias=True,
        mlp_bias=True,
        attn_dropout=_float(cfg, "attn_pdrop", default=0.1),
        hidden_dropout=resid,
        embed_dropout=_float(cfg, "embd_pdrop", default=0.1),
        position="learned",
    )


def _llama_like(cfg: Config, where: str) -> dict[str, Any]:
    """Llama, Mistral, Mixtral, Qwen2: rotary positions, RMSNorm, a gated MLP."""
    model_type = str(cfg.get("model_type"))
    need = _require(
        cfg,
        where,
        hidden_size=_int(cfg, "hidden_size"),
        intermediate_size=_int(cfg, "intermediate_size"),
        num_hidden_layers=_int(cfg, "num_hidden_layers"),
        num_attention_heads=_int(cfg, "num_attention_heads"),
        vocab_size=_int(cfg, "vocab_size"),
    )
    gemma = model_type == "gemma"
    act = _activation(
        cfg, where, "hidden_activation", "hidden_act", default="gelu_pytorch_tanh" if gemma else "silu"
    )
    gated: Activation = "swiglu" if act == "silu" else "gated_gelu" if act == "gelu_tanh" else act
    if gated not in ("swiglu", "gated_gelu"):
        raise AdvisorError(f"{where}: a gated MLP with {act} is not one advisor models")
    bias = bool(cfg.get("attention_bias", False))
    qwen2 = model_type == "qwen2"
    window = _int(cfg, "sliding_window") if model_type in ("mistral", "mixtral") else None
    if qwen2 and cfg.get("use_sliding_window"):
        raise AdvisorError(f"{where}: Qwen2 with use_sliding_window (per-layer windows) is not supported")
    tie_default = gemma  # GemmaConfig ties by default; Llama, Mistral, Qwen2 do not
    return dict(
        kind="decoder",
        hidden_size=need["hidden_size"],
        num_layers=need["num_hidden_layers"],
        num_attention_heads=need["num_attention_heads"],
        num_kv_heads=_int(cfg, "num_key_value_heads"),
        head_dim=_int(cfg, "head_dim"),
        intermediate_size=need["intermediate_size"],
        mlp="swiglu",
        activation=gated,
        norm="rmsnorm",
        vocab_size=need["vocab_size"],
        max_seq_len=_int(cfg, "max_position_embeddings"),
        tie_embeddings=bool(cfg.get("tie_word_embeddings", tie_default)),
        qkv_bias=bias or qwen2,
        out_bias=bias,
        mlp_bias=bool(cfg.get("mlp_bias", False)),
        attn_dropout=_float(cfg, "attention_dropout"),
        sliding_window=window,
        num_experts=_int(cfg, "num_local_experts") if model_type == "mixtral" else None,
        experts_per_token=_int(cfg, "num_experts_per_tok") if model_type == "mixtral" else None,
        norm_bias=False,
        position="rotary",
    )


def _bert_like(cfg: Config, where: str, *, dropout: float) -> dict[str, Any]:
    """What BERT and ViT configs share: the width fields, biases everywhere, LayerNorm, dropouts
    (``dropout``: the class's default for both)."""
    need = _require(
        cfg,
        where,
        hidden_size=_int(cfg, "hidden_size", default=768),
        num_hidden_layers=_int(cfg, "num_hidden_layers", default=12),
        num_attention_heads=_int(cfg, "num_attention_heads", default=12),
        intermediate_size=_int(cfg, "intermediate_size", default=3072),
    )
    return dict(
        hidden_size=need["hidden_size"],
        num_layers=need["num_hidden_layers"],
        num_attention_heads=need["num_attention_heads"],
        intermediate_size=need["intermediate_size"],
        mlp="gelu",
        activation=_activation(cfg, where, "hidden_act", default="gelu"),
        norm="layernorm",
        qkv_bias=True,
        out_bias=True,
        mlp_bias=True,
        attn_dropout=_float(cfg, "attention_probs_dropout_prob", default=dropout),
        hidden_dropout=_float(cfg, "hidden_dropout_prob", default=dropout),
        num_classes=_labels(cfg),
        position="learned",
    )


def _bert(cfg: Config, where: str) -> dict[str, Any]:
    return dict(
        _bert_like(cfg, where, dropout=0.1),
        kind="encoder",
        vocab_size=_int(cfg, "vocab_size", default=30522),
        max_seq_len=_int(cfg, "max_position_embeddings", default=512),
        type_vocab_size=_int(cfg, "type_vocab_size", default=2) or 0,
        tie_embeddings=cfg.get("tie_word_embeddings", True) is not False,
    )


def _vit(cfg: Config, where: str) -> dict[str, Any]:
    if _int(cfg, "num_channels", default=3) != 3:
        raise AdvisorError(
            f"{where}: a vision transformer over {cfg['num_channels']} channels is not supported (3 only)"
        )
    return dict(
        _bert_like(cfg, where, dropout=0.0),
        kind="vision_transformer",
        vocab_size=0,
        image_size=_int(cfg, "image_size", default=224),
        patch_size=_int(cfg, "patch_size", default=16),
        qkv_bias=cfg.get("qkv_bias", True) is not False,
    )


def _t5(cfg: Config, where: str) -> dict[str, Any]:
    need = _require(
        cfg,
        where,
        d_model=_int(cfg, "d_model", default=512),
        d_kv=_int(cfg, "d_kv", default=64),
        d_ff=_int(cfg, "d_ff", default=2048),
        num_layers=_int(cfg, "num_layers", default=6),
        num_heads=_int(cfg, "num_heads", default=8),
    )
    proj = str(cfg.get("feed_forward_proj", "relu"))
    forms: dict[str, tuple[str, Activation]] = {
        "relu": ("gelu", "relu"),
        "gated-gelu": ("swiglu", "gated_gelu_new"),
    }
    if proj not in forms:
        raise AdvisorError(f"{where}: feed_forward_proj {proj!r} is not supported (relu, gated-gelu)")
    mlp, act = forms[proj]
    drop = _float(cfg, "dropout_rate", default=0.1)
    return dict(
        kind="encoder_decoder",
        hidden_size=need["d_model"],
        num_layers=need["num_layers"],
        decoder_layers=_int(cfg, "num_decoder_layers") or need["num_layers"],
        num_attention_heads=need["num_heads"],
        head_dim=need["d_kv"],
        intermediate_size=need["d_ff"],
        mlp=mlp,
        activation=act,
        norm="rmsnorm",
        norm_bias=False,
        vocab_size=_int(cfg, "vocab_size", default=32128),
        max_seq_len=_int(cfg, "n_positions", default=512),
        tie_embeddings=cfg.get("tie_word_embeddings", True) is not False,
        attn_dropout=drop,
        hidden_dropout=drop,
        mlp_dropout=drop,
        relative_buckets=_int(cfg, "relative_attention_num_buckets", default=32),
        position="relative",
    )


def _bart(cfg: Config, where: str) -> dict[str, Any]:
    need = _require(
        cfg,
        where,
        d_model=_int(cfg, "d_model", default=1024),
        encoder_layers=_int(cfg, "encoder_layers", default=12),
        decoder_layers=_int(cfg, "decoder_layers", default=12),
        encoder_attention_heads=_int(cfg, "encoder_attention_heads", default=16),
        encoder_ffn_dim=_int(cfg, "encoder_ffn_dim", default=4096),
    )
    for enc, dec in (
        ("encoder_attention_heads", "decoder_attention_heads"),
        ("encoder_ffn_dim", "decoder_ffn_dim"),
    ):
        if _int(cfg, dec, default=need[enc]) != need[enc]:
            raise AdvisorError(
                f"{where}: {enc} and {dec} differ; advisor models equal encoder and decoder widths"
            )
    return dict(
        kind="encoder_decoder",
        hidden_size=need["d_model"],
        num_layers=need["encoder_layers"],
        decoder_layers=need["decoder_layers"],
        num_attention_heads=need["encoder_attention_heads"],
        intermediate_size=need["encoder_ffn_dim"],
        mlp="gelu",
        activation=_activation(cfg, where, "activation_function", default="gelu"),
        norm="layernorm",
        vocab_size=_int(cfg, "vocab_size", default=50265),
        max_seq_len=_int(cfg, "max_position_embeddings", default=1024),
        tie_embeddings=cfg.get("tie_word_embeddings", True) is not False,
        qkv_bias=True,
        out_bias=True,
        mlp_bias=True,
        attn_dropout=_float(cfg, "attention_dropout"),
        hidden_dropout=_float(cfg, "dropout", default=0.1),
        mlp_dropout=_float(cfg, "activation_dropout"),
        position="learned",
    )


READERS: dict[str, Callable[[Config, str], dict[str, Any]]] = {
    "gpt2": _gpt2,
    "llama": _llama_like,
    "mistral": _llama_like,
    "mixtral": _llama_like,
    "qwen2": _llama_like,
    "bert": _bert,
    "vit": _vit,
    "t5": _t5,
    "mt5": _t5,
    "bart": _bart,
}
SUPPORTED_HEADS: dict[str, tuple[Head, ...]] = {
    "decoder": ("causal_lm",),
    "encoder": ("masked_lm", "seq_cls", "none"),
    "vision_transformer": ("image_cls", "none"),
    "encoder_decoder": ("seq2seq_lm",),
}


def _head(cfg: Config, kind: str, where: str) -> Head | None:
    archs = cfg.get("architectures")
    if not isinstance(archs, list) or not archs or not isinstance(archs[0], str):
        return None
    name = archs[0]
    head = next((h for suffix, h in HEADS.items() if name.endswith(suffix)), None)
    if head is None or head not in SUPPORTED_HEADS[kind]:
        raise AdvisorError(
            f"{where}: {name} is not supported (a {kind.replace('_', ' ')} with "
            f"{' / '.join(SUPPORTED_HEADS[kind])} heads is)"
        )
    return head


def read_config(path: Path) -> Config:
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise AdvisorError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise AdvisorError(f"{path}: not JSON (line {exc.lineno}): {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # 5000-digit integers, 100,000 nested arrays
        raise AdvisorError(f"{path}: not a config.json advisor can read: {str(exc)[:100]}") from None
    if not isinstance(cfg, dict):
        raise AdvisorError(f"{path}: expected a JSON object")
    if isinstance(cfg.get("text_config"), dict):  # multimodal wrappers keep the LM inside
        inner = cfg["text_config"]
        cfg = {**inner, "model_type": inner.get("model_type", cfg.get("model_type"))}
    return cfg


def model_from_hf_config(path: Path) -> ModelSpec:
    """The model a config.json describes, with its exact parameter count."""
    from advisor.estimate.families import family

    cfg = read_config(path)
    model_type = str(cfg.get("model_type", "")).lower()
    reader = READERS.get(model_type)
    if reader is None:
        what = f"model_type {model_type!r}" if model_type else "no model_type"
        raise AdvisorError(
            f"{path}: not a transformer config advisor understands ({what}; supported: "
            f"{', '.join(sorted(READERS))})"
        )
    fields = reader(cfg, str(path))
    head = _head(cfg, fields["kind"], str(path))
    name = path.parent.name or path.stem
    draft: dict[str, Any] = dict(
        name=name,
        display_name=f"{name} (config.json)",
        params=1,
        head=head,
        sources=[str(path.resolve())],
        notes=f"{model_type} config.json; parameters counted as the transformers class has them",
        origin="config",
        **fields,
    )
    try:
        spec = ModelSpec.model_validate(draft)
        total, active = family(spec).params(spec)
        return spec.model_copy(
            update={"params": total, "active_params": active if spec.num_experts else None}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        msg = str(first["msg"]).removeprefix("Value error, ")
        raise AdvisorError(f"{path}: {where + ': ' if where else ''}{msg}") from None
    except ValueError as exc:
        raise AdvisorError(f"{path}: {exc}".splitlines()[0]) from None
