"""The shipped card database: complete, sourced, and right for the cards we check by hand."""

from __future__ import annotations

import pytest

from advisor.knowledge.cards import load_cards

CARDS = {c.name: c for c in load_cards(include_user_config=False).cards}

REQUIRED = [
    "Tesla P100 SXM2 16GB",
    "GeForce GTX 1080 Ti",
    "NVIDIA Titan V",
    "Tesla V100 SXM2 16GB",
    "Tesla V100 SXM2 32GB",
    "Tesla V100 PCIe 16GB",
    "Tesla T4",
    "GeForce RTX 2080 Ti",
    "NVIDIA Titan RTX",
    "GeForce RTX 3060 12GB",
    "GeForce RTX 3080 10GB",
    "GeForce RTX 3090",
    "GeForce RTX 3090 Ti",
    "NVIDIA RTX A6000",
    "NVIDIA A10",
    "NVIDIA A40",
    "A100 SXM4 40GB",
    "A100 SXM4 80GB",
    "A100 PCIe 40GB",
    "A100 PCIe 80GB",
    "NVIDIA L4",
    "NVIDIA L40S",
    "GeForce RTX 4070 Ti",
    "GeForce RTX 4080",
    "GeForce RTX 4090",
    "NVIDIA RTX 6000 Ada Generation",
    "H100 SXM5 80GB",
    "H100 PCIe 80GB",
    "H200 SXM 141GB",
    "GeForce RTX 5090",
    "NVIDIA B200",
]


def test_at_least_thirty_cards_pascal_to_blackwell() -> None:
    assert len(CARDS) >= 30
    assert {c.architecture for c in CARDS.values()} >= {
        "pascal",
        "volta",
        "turing",
        "ampere",
        "ada",
        "hopper",
        "blackwell",
    }
    missing = [name for name in REQUIRED if name not in CARDS]
    assert not missing


def test_every_card_is_sourced_with_urls() -> None:
    for card in CARDS.values():
        assert card.sources, card.name
        assert all(s.startswith(("https://", "http://")) for s in card.sources), card.name


# compute capability per architecture: https://developer.nvidia.com/cuda-gpus
CC_BY_ARCH = {
    "pascal": {"6.0", "6.1"},
    "volta": {"7.0"},
    "turing": {"7.5"},
    "ampere": {"8.0", "8.6"},
    "ada": {"8.9"},
    "hopper": {"9.0"},
    "blackwell": {"10.0", "12.0"},
}


def test_compute_capability_matches_architecture() -> None:
    for card in CARDS.values():
        assert card.compute_capability in CC_BY_ARCH[card.architecture], card.name


def test_tensor_figures_follow_the_architecture() -> None:
    for card in CARDS.values():
        major = card.compute_capability_tuple[0]
        assert (card.fp16_tensor_tflops is None) == (card.architecture == "pascal"), card.name
        assert (card.bf16_tensor_tflops is not None) == (major >= 8), card.name
        assert (card.fp8_tensor_tflops is not None) == (
            card.compute_capability in {"8.9", "9.0", "10.0", "12.0"}
        ), card.name
        if card.fp16_tensor_fp16acc_tflops is not None:  # GeForce: FP32 accumulate at half rate
            assert card.fp16_tensor_fp16acc_tflops == pytest.approx(2 * card.fp16_tensor_tflops, rel=0.02), (
                card.name
            )


# Figures as NVIDIA publishes them.
# V100: NVIDIA Tesla V100 datasheet
#   https://images.nvidia.com/content/technologies/volta/pdf/tesla-volta-v100-datasheet-letter-fnl-web.pdf
# RTX 3090: NVIDIA Ampere GA102 GPU architecture whitepaper, appendix A table
#   https://www.nvidia.com/content/PDF/nvidia-ampere-ga-102-gpu-architecture-whitepaper-v2.pdf
# Titan RTX: NVIDIA's launch announcement (130 tensor TFLOPS, 24 GB, 672 GB/s, 280 W, $2,499,
#   NVLink 100 GB/s), https://nvidianews.nvidia.com/news/nvidia-titan-rtx-is-here
NVIDIA_PUBLISHED = {
    "Tesla V100 SXM2 16GB": dict(
        memory_gib=16,
        memory_bandwidth_gbs=900,
        fp32_tflops=15.7,
        fp16_tensor_tflops=125,
        tdp_w=300,
        nvlink_bandwidth_gbs=300,
        compute_capability="7.0",
        memory_type="HBM2",
        pcie_gen=3,
    ),
    "Tesla V100 SXM2 32GB": dict(
        memory_gib=32,
        memory_bandwidth_gbs=900,
        fp32_tflops=15.7,
        fp16_tensor_tflops=125,
        tdp_w=300,
        nvlink_bandwidth_gbs=300,
    ),
    "Tesla V100 PCIe 16GB": dict(
        memory_gib=16,
        memory_bandwidth_gbs=900,
        fp32_tflops=14,
        fp16_tensor_tflops=112,
        tdp_w=250,
        nvlink_bandwidth_gbs=0,
    ),
    "GeForce RTX 3090": dict(
        memory_gib=24,
        memory_type="GDDR6X",
        memory_bandwidth_gbs=936,
        fp32_tflops=35.6,
        tf32_tensor_tflops=35.6,
        fp16_tensor_tflops=71,
        fp16_tensor_fp16acc_tflops=142,
        bf16_tensor_tflops=71,
        int8_tensor_tops=284,
        tdp_w=350,
        launch_price_usd=1499,
        compute_capability="8.6",
        pcie_gen=4,
        release_year=2020,
    ),
    "NVIDIA Titan RTX": dict(
        memory_gib=24,
        memory_type="GDDR6",
        memory_bandwidth_gbs=672,
        fp32_tflops=16.3,
        tdp_w=280,
        launch_price_usd=2499,
        nvlink_bandwidth_gbs=100,
        compute_capability="7.5",
        release_year=2018,
    ),
}


@pytest.mark.parametrize("name", sorted(NVIDIA_PUBLISHED))
def test_hand_checked_cards_agree_with_nvidia(name: str) -> None:
    card = CARDS[name]
    for field, expected in NVIDIA_PUBLISHED[name].items():
        assert (
            getattr(card, field) == pytest.approx(expected)
            if isinstance(expected, float | int)
            else getattr(card, field) == expected
        ), (name, field)


def test_titan_rtx_tensor_rate_is_nvidias_130_tflops() -> None:
    assert CARDS["NVIDIA Titan RTX"].fp16_tensor_tflops == pytest.approx(130, abs=1)


def test_nvml_names_are_the_exact_strings_drivers_report() -> None:
    assert "Tesla V100-SXM2-16GB" in CARDS["Tesla V100 SXM2 16GB"].nvml_names
    assert "NVIDIA GeForce RTX 3090" in CARDS["GeForce RTX 3090"].nvml_names
    assert "NVIDIA TITAN RTX" in CARDS["NVIDIA Titan RTX"].nvml_names
