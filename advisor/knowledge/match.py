"""Finding a card from what a person types ("3090", "v100 32") or what NVML reports."""

from __future__ import annotations

import re
from collections.abc import Sequence

from advisor.errors import NotFoundError
from advisor.knowledge.cards import Card

# Brand words that people leave out and NVML puts in; they never tell two cards apart.
_NOISE = frozenset({"nvidia", "geforce", "tesla", "quadro", "generation", "gpu", "graphics"})


def tokens(text: str) -> list[str]:
    """Lower-case words, with letters and digits split where people don't type a space.

    "RTX3090" -> ["rtx", "3090"]; "V100-SXM2-32GB" -> ["v100", "sxm2", "32gb"]; "32 GB" -> ["32gb"].
    """
    text = text.lower().replace("_", " ").replace("-", " ")
    text = re.sub(r"(\d+)\s*gb\b", r"\1gb", text)
    text = re.sub(r"\b(rtx|gtx|titan)(\d)", r"\1 \2", text)
    words = re.findall(r"[a-z0-9.]+", text)
    return [w for w in words if w not in _NOISE]


def _card_tokens(card: Card) -> set[str]:
    return set(tokens(card.name))


def _query_token_matches(q: str, card_tokens: set[str]) -> bool:
    if q in card_tokens:
        return True
    # "32" means "32gb"; "sxm" means "sxm2"/"sxm4"/"sxm5"
    return any(t.startswith(q) and (t[len(q) :] in {"gb"} or q.isalpha()) for t in card_tokens)


def candidates(query: str, cards: Sequence[Card]) -> list[Card]:
    """Cards the query could mean, best first; one card when the query is unambiguous."""
    key = " ".join(query.lower().split())
    exact = [
        c for c in cards if key in {" ".join(n.lower().split()) for n in (c.name, *c.aliases, *c.nvml_names)}
    ]
    if exact:
        return exact
    wanted = tokens(query)
    if not wanted:
        return []
    scored: list[tuple[int, Card]] = []
    for card in cards:
        have = _card_tokens(card)
        if all(_query_token_matches(q, have) for q in wanted):
            matched = {t for t in have for q in wanted if t == q or t.startswith(q)}
            scored.append((len(have - matched), card))
    if not scored:
        return []
    best = min(score for score, _ in scored)
    top = [card for score, card in scored if score == best]
    # A query that names every word of one card ("3090") picks it over longer names ("3090 Ti").
    return top if best == 0 or len(top) == 1 else [c for _, c in sorted(scored, key=_order)]


def _order(item: tuple[int, Card]) -> tuple[int, int, str]:
    return item[0], item[1].release_year, item[1].name


def find_card(query: str, cards: Sequence[Card]) -> Card:
    """The one card ``query`` names, or a NotFoundError that lists the candidates."""
    found = candidates(query, cards)
    if len(found) == 1:
        return found[0]
    if not found:
        hint = _suggest(query, cards)
        raise NotFoundError(
            f"no card matches {query!r}"
            + (f"; did you mean: {', '.join(hint)}?" if hint else "")
            + " (advisor cards list shows them all)"
        )
    names = ", ".join(c.name for c in found[:8])
    more = f" and {len(found) - 8} more" if len(found) > 8 else ""
    raise NotFoundError(f"{query!r} matches several cards: {names}{more}; be more specific")


def _suggest(query: str, cards: Sequence[Card]) -> list[str]:
    import difflib

    names = {c.name.lower(): c.name for c in cards}
    close = difflib.get_close_matches(query.lower(), list(names), n=3, cutoff=0.5)
    return [names[n] for n in close]


def match_nvml(name: str, pci_device_id: str | None, cards: Sequence[Card]) -> Card | None:
    """The card a probed GPU is, from its NVML name (exact) or else its PCI device id."""
    key = " ".join(name.lower().split())
    for card in cards:
        if key in {" ".join(n.lower().split()) for n in card.nvml_names}:
            return card
    if pci_device_id:
        wanted = pci_device_id.upper().replace("0X", "0x")
        for card in cards:
            if wanted in card.pci_device_ids:
                return card
    found = candidates(name, cards)
    return found[0] if len(found) == 1 else None
