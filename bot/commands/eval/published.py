"""The model cards' own figures, to print beside a run's (fractions between 0 and 1).

Source: the "Published accuracy" table of the project's reference notes
(shared/reference/medgemma.md), copied from the google/medgemma-4b-it model card
(v1.0.1) and the google/medgemma-1.5-4b-it model card. SLAKE is the English test split;
VQA-RAD is the "balanced split" of Yang et al. 2024 (arXiv:2405.03162), which the public
release does not carry: its public test split is a different sample. The chest X-ray
rows are each card's top conditions of those datasets, not a user's own CSV.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.prompts import model_family

CARD_MODELS = ("MedGemma 4B-it", "MedGemma 1.5 4B-it")


@dataclass(frozen=True)
class VqaFigures:
    """A card's tokenized F1 and closed-question accuracy on one benchmark."""

    tokenized_f1: float
    closed_accuracy: float


# benchmark -> one figure per model of CARD_MODELS, in that order
VQA_FIGURES: dict[str, tuple[VqaFigures, VqaFigures]] = {
    "slake": (VqaFigures(0.723, 0.876), VqaFigures(0.597, 0.828)),
    "vqa-rad": (VqaFigures(0.499, 0.691), VqaFigures(0.481, 0.702)),
}
# chest X-ray classification, macro F1 -> one figure per model of CARD_MODELS
CXR_FIGURES: dict[str, tuple[float, float]] = {
    "MIMIC-CXR, top 5 conditions": (0.889, 0.895),
    "CheXpert, top 5 conditions": (0.481, 0.482),
    "CXR14, 3 conditions": (0.501, 0.484),
}
# the group a card's VQA figure is comparable with (SLAKE: English only)
CARD_GROUP = {"slake": "en", "vqa-rad": ""}


def card_for(model: str) -> str:
    """The card (of CARD_MODELS) whose figures a run of `model` compares with."""
    return CARD_MODELS[1] if model_family(model) == "medgemma-1.5" else CARD_MODELS[0]
