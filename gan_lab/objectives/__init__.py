"""What a GAN trains against: adversarial losses, gradient penalties on D, and DiffAugment.

Plain torch (and kornia) objects, each built by Hydra `_target_` from keyword arguments.
"""

from gan_lab.objectives.adversarial import (
    AdversarialLoss,
    Hinge,
    LeastSquares,
    Logits,
    NonSaturating,
    Wasserstein,
)
from gan_lab.objectives.diffaugment import DiffAugment
from gan_lab.objectives.penalties import R1, R2, GradientPenalty, Penalty

__all__ = [
    "AdversarialLoss",
    "DiffAugment",
    "GradientPenalty",
    "Hinge",
    "LeastSquares",
    "Logits",
    "NonSaturating",
    "Penalty",
    "R1",
    "R2",
    "Wasserstein",
]
