"""Model presets (data/models.yaml), bare sizes ("7B") and Hugging Face config.json files.

A `ModelSpec` holds the architecture figures the memory and speed estimates need.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from advisor import paths
from advisor.errors import AdvisorError, KnowledgeError, NotFoundError
from advisor.knowledge.yamlfile import entry_label, format_validation_error, read_mapping

Kind = Literal["decoder", "encoder", "encoder_decoder", "vision_transformer", "cnn", "unet", "mlp"]
TRANSFORMER_KINDS = ("decoder", "encoder", "encoder_decoder", "vision_transformer")
# The MLP's activation as the implementation writes it (what it saves differs: see
# advisor/estimate/families/pieces.py).
Activation = Literal[
    "gelu",
    "gelu_tanh",
    "gelu_new",
    "gelu_fast",
    "quick_gelu",
    "relu",
    "silu",
    "swiglu",
    "gated_gelu",
    "gated_gelu_new",
]
GATED_ACTIVATIONS = ("swiglu", "gated_gelu", "gated_gelu_new")
# What sits on top of the stack: it decides the logits (a vocabulary, a few labels, none).
Head = Literal["causal_lm", "masked_lm", "seq_cls", "image_cls", "seq2seq_lm", "none"]
Position = Literal["learned", "rotary", "relative", "none"]
DEFAULT_HEAD: dict[str, Head] = {
    "decoder": "causal_lm",
    "encoder": "masked_lm",
    "encoder_decoder": "seq2seq_lm",
    "vision_transformer": "image_cls",
}


class ModelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str
    display_name: str
    aliases: list[str] = []
    kind: Kind
    params: int = Field(gt=0, le=10**14)
    active_params: int | None = Field(default=None, gt=0)
    hidden_size: int | None = Field(default=None, gt=0, le=1_000_000)
    num_layers: int | None = Field(default=None, gt=0, le=100_000)
    num_attention_heads: int | None = Field(default=None, gt=0, le=100_000)
    num_kv_heads: int | None = Field(default=None, gt=0, le=100_000)
    head_dim: int | None = Field(default=None, gt=0, le=65_536)
    intermediate_size: int | None = Field(default=None, gt=0, le=10_000_000)
    # swiglu: a gated MLP (gate, up, down: three matrices); gelu: two matrices (any activation)
    mlp: Literal["swiglu", "gelu"] | None = None
    norm: Literal["rmsnorm", "layernorm"] | None = None
    vocab_size: int | None = Field(default=None, ge=0, le=100_000_000)
    max_seq_len: int | None = Field(default=None, gt=0, le=1_000_000_000)
    tie_embeddings: bool = False
    num_experts: int | None = Field(default=None, gt=0, le=100_000)
    experts_per_token: int | None = Field(default=None, gt=0, le=100_000)
    sliding_window: int | None = Field(default=None, gt=0, le=1_000_000_000)
    image_size: int | None = Field(default=None, gt=0, le=100_000)
    patch_size: int | None = Field(default=None, gt=0, le=100_000)
    forward_gflops_per_sample: float | None = Field(default=None, gt=0)
    fused_qkv: bool = Field(default=False, description="one Linear for q, k and v (GPT-2)")
    activation: Activation | None = None  # None: swiglu for mlp swiglu, else gelu
    attn_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    hidden_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)  # residual / hidden dropout
    embed_dropout: float | None = Field(default=None, ge=0.0, lt=1.0)  # None: hidden_dropout
    mlp_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)  # inside the MLP (T5, BART)
    head: Head | None = None  # None: the kind's usual head
    position: Position | None = None  # None: rotary for RMSNorm decoders, learned otherwise
    type_vocab_size: int = Field(default=0, ge=0)
    qkv_bias: bool = False
    out_bias: bool = False
    mlp_bias: bool = False
    norm_bias: bool = True  # LayerNorm with a bias (False: RMSNorm-style weight only)
    decoder_layers: int | None = Field(default=None, gt=0)  # encoder-decoder: the decoder's depth
    relative_buckets: int | None = Field(default=None, gt=0)  # T5's relative attention buckets
    activation_mib_per_sample: float | None = Field(default=None, gt=0)
    # Small custom networks (an MLP; a conv3x3-BN-ReLU stack) described layer by layer:
    layer_sizes: list[int] | None = None
    channels: list[int] | None = None
    num_classes: int | None = Field(default=None, gt=0)
    sources: list[str] = Field(min_length=1)
    unconfirmed: list[str] = []
    notes: str = ""
    origin: str = "preset"

    @model_validator(mode="after")
    def _complete(self) -> ModelSpec:
        if self.kind in TRANSFORMER_KINDS:
            needed = ["hidden_size", "num_layers", "num_attention_heads", "intermediate_size", "mlp"]
            missing = [f for f in needed if getattr(self, f) is None]
            if missing:
                raise ValueError(f"a {self.kind} needs {', '.join(missing)}")
            if (self.activation in GATED_ACTIVATIONS) != (self.mlp == "swiglu") and self.activation:
                raise ValueError(f"activation {self.activation} does not go with mlp {self.mlp}")
            self._consistent_heads()
        elif self.kind == "mlp" and not self.layer_sizes:
            raise ValueError("an mlp needs layer_sizes")
        elif self.kind in ("cnn", "unet") and not (self.channels or self.activation_mib_per_sample):
            raise ValueError(f"a {self.kind} needs channels or activation_mib_per_sample")
        return self

    def _consistent_heads(self) -> None:
        h, a = self.hidden_size or 0, self.num_attention_heads or 1
        if self.head_dim is None and (a > h or h % a):
            raise ValueError(f"{a} attention heads do not divide the hidden size {h}")
        kv = self.num_kv_heads or a
        if kv > a or a % kv:
            raise ValueError(f"{kv} key/value heads do not divide the {a} attention heads")
        if self.experts_per_token and self.num_experts and self.experts_per_token > self.num_experts:
            raise ValueError(
                f"{self.experts_per_token} experts per token exceed the {self.num_experts} experts"
            )
        if self.image_size and self.patch_size and self.patch_size > self.image_size:
            raise ValueError(f"patch size {self.patch_size} exceeds the image size {self.image_size}")

    @property
    def is_transformer(self) -> bool:
        return self.kind in TRANSFORMER_KINDS

    @property
    def mlp_activation(self) -> Activation:
        return self.activation or ("swiglu" if self.mlp == "swiglu" else "gelu")

    @property
    def task_head(self) -> Head:
        return self.head or DEFAULT_HEAD.get(self.kind, "none")

    @property
    def positions(self) -> Position:
        if self.position is not None:
            return self.position
        return "rotary" if self.norm == "rmsnorm" and self.kind == "decoder" else "learned"

    @property
    def embedding_dropout(self) -> float:
        return self.hidden_dropout if self.embed_dropout is None else self.embed_dropout

    @property
    def kv_heads(self) -> int:
        return self.num_kv_heads or self.num_attention_heads or 1

    @property
    def head_size(self) -> int:
        assert self.hidden_size and self.num_attention_heads
        return self.head_dim or self.hidden_size // self.num_attention_heads

    @property
    def params_per_token(self) -> int:
        """Parameters touched per token: all of them, except the unused experts of an MoE."""
        return self.active_params or self.params


def models_path() -> Path:
    return paths.data_dir() / "models.yaml"


@cache
def load_models(path: Path | None = None) -> tuple[ModelSpec, ...]:
    source = path or models_path()
    doc = read_mapping(source)
    entries = doc.get("models")
    if not isinstance(entries, list):
        raise KnowledgeError(f"{source}: no 'models:' list")
    out = []
    for i, entry in enumerate(entries):
        label = entry_label(entry, i, "models")
        try:
            out.append(ModelSpec.model_validate(entry))
        except ValidationError as exc:
            raise KnowledgeError(format_validation_error(source, label, exc)) from None
    return tuple(out)


# --- bare sizes ---------------------------------------------------------------------------------

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*([kmbt]?)\s*$", re.IGNORECASE)
_UNIT = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
MIN_PARAMS, MAX_PARAMS = 1e3, 1e13


def parse_size(text: str) -> int | None:
    """'7B' -> 7e9, '350M' -> 3.5e8, '1.3e9' -> 1.3e9; None if it is not a size at all.

    Raises AdvisorError for something shaped like a size that makes no sense (0, 1e30).
    """
    m = _SIZE.match(text)
    if not m:
        return None
    value = float(m.group(1)) * _UNIT[m.group(2).lower()]
    if not math.isfinite(value) or not MIN_PARAMS <= value <= MAX_PARAMS:
        raise AdvisorError(
            f"model size {text!r} is out of range: give between 1K and 10T parameters (e.g. 7B)"
        )
    return int(value)


def model_from_size(params: int) -> ModelSpec:
    """A Llama-style decoder of about ``params`` parameters.

    Scaling rule: 12·L·h² parameters in the blocks (attention 4h², SwiGLU MLP with intermediate
    8h/3), width/depth h/L = 128 (as in Llama-2 7B: 4096/32), head size 128, vocabulary 32000.
    Solving 12·h³/128 + 2·32000·h = params gives h, rounded to a multiple of 128.
    """
    vocab = 32000
    h = 128.0
    for _ in range(60):  # fixed point of h = cbrt((params - 2·V·h)·128/12)
        h = max(128.0, ((max(params - 2 * vocab * h, params * 0.05)) * 128 / 12) ** (1 / 3))
    hidden = max(128, round(h / 128) * 128)
    layers = max(1, round(hidden / 128))
    inter = round(8 * hidden / 3 / 256) * 256 or 256
    return ModelSpec(
        name=f"decoder-{_human(params)}",
        display_name=f"{_human(params)} decoder (scaled)",
        kind="decoder",
        params=params,
        hidden_size=hidden,
        num_layers=layers,
        num_attention_heads=max(1, hidden // 128),
        num_kv_heads=max(1, hidden // 128),
        head_dim=128,
        intermediate_size=inter,
        mlp="swiglu",
        norm="rmsnorm",
        vocab_size=vocab,
        max_seq_len=4096,
        sources=["advisor scaling rule (advisor/knowledge/models.py: model_from_size)"],
        notes="architecture inferred from the parameter count; pass a preset or config.json for "
        "exact figures",
        origin="size",
    )


def _human(n: float) -> str:
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(int(n))


# --- resolving what the user typed -------------------------------------------------------------


def resolve_model(text: str, presets: tuple[ModelSpec, ...] | None = None) -> ModelSpec:
    presets = presets if presets is not None else load_models()
    key = " ".join(text.lower().replace("_", "-").split())
    for spec in presets:
        if key in {spec.name, spec.display_name.lower(), *(a.lower() for a in spec.aliases)}:
            return spec
    try:
        path = Path(text).expanduser()
        is_dir, is_file = path.is_dir(), path.is_file()
    except (OSError, RuntimeError, ValueError) as exc:  # a name too long, ~nouser, a NUL byte
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise AdvisorError(f"model {text[:60]!r}{'...' if len(text) > 60 else ''}: {reason}") from None
    if text.endswith(".json") or is_dir or is_file:
        config = path / "config.json" if path.is_dir() else path
        if not config.is_file():
            raise AdvisorError(f"{config}: no such file")
        from advisor.knowledge.hf_config import model_from_hf_config

        return model_from_hf_config(config)
    size = parse_size(text)
    if size is not None:
        return model_from_size(size)
    if re.match(r"^\s*-", text) or re.match(r"^\s*\d", text):
        raise AdvisorError(
            f"{text!r} is not a model size advisor understands: use a number with K, M, B or T "
            "(7B, 350M, 1.3e9)"
        )
    import difflib

    names = [s.name for s in presets] + [a for s in presets for a in s.aliases]
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    raise NotFoundError(
        f"unknown model {text!r}{hint} (advisor models lists the presets; a size like 7B or a "
        "config.json path works too)"
    )
