"""Systems: one LightningModule per family of training, and the one place checkpoints are read."""

from gan_lab.systems.base import System, Visual
from gan_lab.systems.build import build_system
from gan_lab.systems.checkpoint import load_system, pick_device, read_checkpoint, steps_of
from gan_lab.systems.classifier import Classifier
from gan_lab.systems.contrastive import ContrastiveEncoder
from gan_lab.systems.latent_gan import LatentGAN
from gan_lab.systems.translation import CycleGAN
from gan_lab.systems.video_gan import VideoGAN

__all__ = [
    "Classifier",
    "ContrastiveEncoder",
    "CycleGAN",
    "LatentGAN",
    "System",
    "VideoGAN",
    "Visual",
    "build_system",
    "load_system",
    "pick_device",
    "read_checkpoint",
    "steps_of",
]
