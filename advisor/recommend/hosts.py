"""What machine a card goes in, and what it needs beyond it (pure).

A desktop or workstation takes PCIe cards with their own fans; passively cooled cards need a
server's front-to-back airflow, and SXM modules an HGX/DGX baseboard (they are bought as 8-GPU
systems). A desktop takes two cards, a workstation four. Open-air coolers blow into the case, so
more than two side by side need risers or liquid cooling; blower cards stack four wide. A machine
drawing more than a 15 A / 120 V circuit's 1,440 W continuous needs a second circuit (Lambda,
https://lambdalabs.com/blog/deep-learning-hardware-deep-dive-rtx-30xx).
"""

from __future__ import annotations

from typing import Literal, get_args

from advisor.choices import Host
from advisor.knowledge.cards import Card

HOSTS: tuple[Host, ...] = get_args(Host)
# What a card needs beyond the host it is offered for.
Need = Literal["sxm_baseboard", "server_airflow", "big_psu", "slots", "spacing", "circuit"]
# Needs a careful engineer does not hand a buyer as the answer: they are a project, not a purchase.
# (A second circuit is a wall socket away in most labs, so it is said, not blocking.)
BLOCKING: tuple[Need, ...] = ("sxm_baseboard", "server_airflow", "slots", "spacing")
MAX_GPUS: dict[Host, int] = {"desktop": 2, "workstation": 4, "server": 8}
HARD_MAX_GPUS: dict[Host, int] = {"desktop": 4, "workstation": 4, "server": 8}
ATX_SLOTS = 7  # expansion slots of an ATX board (E-ATX workstation boards: 8)
WORKSTATION_SLOTS = 8
OPEN_AIR_SIDE_BY_SIDE = 2
CIRCUIT_W = 1440  # a 15 A / 120 V circuit, continuous (80 %)
HOST_POWER_W = 300  # CPU, board, drives and fans (assumed)


def default_host(segment: str | None) -> Host:
    return "server" if segment == "datacenter" else "desktop"


def is_module(card: Card) -> bool:
    return card.form_factor != "pcie"


def fits_host(card: Card, host: Host, form_factors: tuple[str, ...] = ()) -> bool:
    """Whether the card is offered for this host at all (``form_factors``: asked for explicitly)."""
    if form_factors:
        return card.form_factor in form_factors
    if host == "server":
        return True
    return not is_module(card) and card.cooling != "passive"


def needs(card: Card, host: Host, gpus: int) -> list[Need]:
    """What the host must have beyond an ordinary one of its kind to run ``gpus`` of ``card``."""
    out: list[Need] = []
    if is_module(card):
        out.append("sxm_baseboard")
    elif card.cooling == "passive" and host != "server":
        out.append("server_airflow")
    if host != "server" and not is_module(card):
        if gpus > MAX_GPUS[host]:
            out.append("big_psu")
        slots = ATX_SLOTS if host == "desktop" else WORKSTATION_SLOTS
        if card.slots is not None and card.slots * gpus > slots:
            out.append("slots")
        if card.cooling == "open_air" and gpus > OPEN_AIR_SIDE_BY_SIDE:
            out.append("spacing")
        if card.tdp_w * gpus + HOST_POWER_W > CIRCUIT_W:
            out.append("circuit")
    return out


def psu_watts(card: Card, gpus: int) -> int:
    """A power supply for ``gpus`` cards at board power and the host, with 25% headroom."""
    return int(1.25 * (card.tdp_w * gpus + HOST_POWER_W) / 50 + 0.999) * 50
