"""The closed lists a user picks from: one definition each, for the models that validate them and
the command line that offers them (completion, --help). Light to import on purpose: every
command's start-up reads this module."""

from __future__ import annotations

from typing import Literal

Task = Literal["train", "finetune", "lora", "qlora", "inference"]
Precision = Literal["fp32", "fp16", "bf16", "int8", "int4"]
Optimizer = Literal["adamw", "adam", "sgd", "adam8bit", "adafactor"]
Attention = Literal["eager", "sdpa"]
# what --attention accepts: FlashAttention keeps the same tensors for backward as SDPA's fused kernels
AttentionChoice = Literal["eager", "sdpa", "flash"]
Sharding = Literal["none", "zero1", "zero2", "zero3"]
Device = Literal["cuda", "cpu"]

Architecture = Literal["pascal", "volta", "turing", "ampere", "ada", "hopper", "blackwell"]
Segment = Literal["consumer", "workstation", "datacenter"]
# pcie: a card for a PCIe slot; sxm*: a module for an NVIDIA HGX/DGX baseboard (the generation's
# socket); B200 modules sit on HGX B200 boards (SXM6).
FormFactor = Literal["pcie", "sxm2", "sxm4", "sxm5", "sxm6"]
Host = Literal["desktop", "workstation", "server"]
Backend = Literal["nccl", "gloo"]
