"""The latent GAN: a generator of noise (and labels) against one discriminator, unconditional or conditional.

A conditional pair (`num_classes` > 0) sees each real batch with its labels, and fakes are drawn for labels
sampled uniformly. The recipe pieces are optional objects: a `penalty` on D (R1, R2, WGAN-GP, lazy every k
steps), `augment` on every D input (DiffAugment), and an `ema` of G that sampling uses.

`joint_batches` is a training-procedure choice for a D with BatchNorm: D sees each step's real and fake
samples in one call, so its BatchNorm normalizes both with the same statistics. Called once per batch (the
default, as in DCGAN's and PacGAN's code), a BatchNorm right after D's first layer removes each batch's own
scale (and, but for the zero-padded borders, its offset): D cannot see that the fakes have too little
contrast, and G learns intensity only through the images' shapes.
"""

from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from gan_lab.errors import ConfigError
from gan_lab.nets import GANNets
from gan_lab.nets.ema import EMA
from gan_lab.objectives import AdversarialLoss, Logits, Penalty, split_logits
from gan_lab.systems.generator import GeneratorSystem


class LatentGAN(GeneratorSystem):
    """Trains `nets(data_shape, num_classes)`'s generator against its discriminator.

    `training_step` runs four phases, each in its own method: D main (`n_critic` times), D regularization
    (with the last critic update, when the penalty is due), G main, EMA update.
    """

    def __init__(
        self,
        nets: Callable[..., GANNets],
        loss: AdversarialLoss,
        optimizers: Mapping[str, Callable[..., Optimizer]],
        data_shape: tuple[int, ...],
        num_classes: int | None = None,
        n_critic: int = 1,
        grad_clip: float | None = None,
        penalty: Penalty | None = None,
        augment: Callable[[Tensor], Tensor] | None = None,
        ema: EMA | None = None,
        sample_with_ema: bool = True,
        num_samples: int = 64,
        seed: int = 0,
        channels_last: bool = False,
        lr_decay: str = "constant",
        lr_decay_steps: int | None = None,
        lr_decay_from: float = 0.0,
        joint_batches: bool = False,
    ) -> None:
        if not (isinstance(n_critic, int) and n_critic >= 1):
            raise ConfigError(f"system.n_critic={n_critic} cannot work: use an integer >= 1.")
        built = nets(data_shape=tuple(data_shape), num_classes=num_classes)
        super().__init__(built.generator, built.nz, built.num_classes, optimizers, ema, sample_with_ema,
                         num_samples, seed, grad_clip, channels_last, lr_decay, lr_decay_steps,
                         lr_decay_from)  # fmt: skip
        self.discriminator = built.discriminator
        self.loss, self.n_critic, self.penalty, self.augment = loss, n_critic, penalty, augment
        self.joint_batches = joint_batches

    @property
    def networks(self) -> dict[str, nn.Module]:
        return {"discriminator": self.discriminator, "generator": self.generator}

    # --- the step --------------------------------------------------------------------------------------

    def training_step(self, batch, batch_idx: int) -> dict[str, Tensor]:
        real, labels = self.real_batch(batch)
        optimizers = self.named_optimizers()
        regularize = self.penalty is not None and self.penalty.due(self.steps_done)

        with self.training_only(optimizers["discriminator"]):
            for critic in range(self.n_critic):
                # D main: D learns to tell real from fake, loss.discriminator(D(real), D(G(z))).
                loss_d, real_logits, fake_logits, fake, fake_y = self.discriminator_loss(real, labels)
                # D regularization: every `penalty.every` steps, with the last critic update, the penalty
                # at weight x every (lazy regularization, Karras et al. 2020).
                penalty = None
                if regularize and critic == self.n_critic - 1:
                    penalty = self.discriminator_penalty(real, labels, fake, fake_y)
                    loss_d = loss_d + penalty
                self.update(optimizers["discriminator"], loss_d)

        with self.training_only(optimizers["generator"]):
            # G main: G learns to fool D, loss.generator(D(G(z))).
            loss_g = self.generator_loss(real, labels)
            self.update(optimizers["generator"], loss_g)

        # EMA: the averaged generator follows the trained one.
        self.update_ema(len(real))

        self.steps_done += 1
        out = {
            "loss/d": loss_d.detach(),
            "loss/g": loss_g.detach(),
            "d/real": self.loss.score(real_logits),
            "d/fake": self.loss.score(fake_logits),
        }
        if penalty is not None:
            out["loss/d_penalty"] = penalty.detach()
        return out

    def discriminate(self, x: Tensor, y: Tensor | None) -> Logits:
        """D(x, y): the one place D is called, so that augmentation reaches every D input, real and fake."""
        return self.discriminator(self.augment(x) if self.augment is not None else x, y)

    def discriminate_pair(
        self, real: Tensor, labels: Tensor | None, fake: Tensor, fake_y: Tensor | None
    ) -> tuple[Logits, Logits]:
        """D's logits for a real and a fake batch: one call on both together with `joint_batches`."""
        if not self.joint_batches:
            return self.discriminate(real, labels), self.discriminate(fake, fake_y)
        y = None if labels is None else torch.cat([labels, fake_y])
        return split_logits(self.discriminate(torch.cat([real, fake]), y))

    def discriminator_loss(self, real: Tensor, labels: Tensor | None):
        with torch.no_grad():
            fake, y = self.fakes(len(real))
        real_logits, fake_logits = self.discriminate_pair(real, labels, fake, y)
        return self.loss.discriminator(real_logits, fake_logits), real_logits, fake_logits, fake, y

    def discriminator_penalty(
        self, real: Tensor, labels: Tensor | None, fake: Tensor, fake_y: Tensor | None
    ) -> Tensor:
        # Interpolates (WGAN-GP) mix real and fake samples: they are scored with the real labels.
        return self.penalty(lambda x: self.discriminate(x, labels), real, fake)

    def generator_loss(self, real: Tensor, labels: Tensor | None) -> Tensor:
        fake, y = self.fakes(len(real))
        if not self.joint_batches:
            return self.loss.generator(self.discriminate(fake, y))
        # The reals are there only for D's batch statistics; G's loss reads the fakes' logits.
        return self.loss.generator(self.discriminate_pair(real, labels, fake, y)[1])
