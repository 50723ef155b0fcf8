"""What a GAN trains against: adversarial losses, gradient penalties on D, DiffAugment, and the cycle and
identity terms and image pool of translation.

Plain torch (and kornia) objects, each built by Hydra `_target_` from keyword arguments.
"""

from gan_lab.objectives.adversarial import (
    AdversarialLoss,
    Hinge,
    LeastSquares,
    Logits,
    NonSaturating,
    Wasserstein,
    split_logits,
)
from gan_lab.objectives.diffaugment import DiffAugment
from gan_lab.objectives.penalties import R1, R2, GradientPenalty, Penalty
from gan_lab.objectives.reconstruction import ImagePool, cycle_loss, identity_loss

__all__ = [
    "AdversarialLoss",
    "DiffAugment",
    "GradientPenalty",
    "Hinge",
    "ImagePool",
    "LeastSquares",
    "Logits",
    "NonSaturating",
    "Penalty",
    "R1",
    "R2",
    "Wasserstein",
    "cycle_loss",
    "identity_loss",
    "split_logits",
]
