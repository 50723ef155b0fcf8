"""The latent GAN: a generator of noise (and labels) against one discriminator, unconditional or conditional.

A conditional pair (`num_classes` > 0) sees each real batch with its labels, and fakes are drawn for labels
sampled uniformly. The recipe pieces are optional objects: a `penalty` on D (R1, R2, WGAN-GP, lazy every k
steps), `augment` on every D input (DiffAugment), and an `ema` of G that sampling uses.
"""

from collections.abc import Callable, Iterator, Mapping

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from gan_lab.errors import ConfigError
from gan_lab.nets import GANNets, latent_noise
from gan_lab.nets.ema import EMA, ema_copy
from gan_lab.objectives import AdversarialLoss, Logits, Penalty
from gan_lab.systems.base import System, Visual, grid_columns


class LatentGAN(System):
    """Trains `nets(data_shape, num_classes)`'s generator against its discriminator.

    `training_step` runs four phases, each in its own method: D main (`n_critic` times), D regularization
    (with the last critic update, when the penalty is due), G main, EMA update.
    """

    generative = True

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
    ) -> None:
        super().__init__(optimizers, seed, grad_clip, channels_last, lr_decay, lr_decay_steps)
        if not (isinstance(n_critic, int) and n_critic >= 1):
            raise ConfigError(f"system.n_critic={n_critic} cannot work: use an integer >= 1.")
        built = nets(data_shape=tuple(data_shape), num_classes=num_classes)
        self.generator, self.discriminator = built.generator, built.discriminator
        self.nz, self.num_classes = built.nz, built.num_classes
        self.loss, self.n_critic, self.penalty, self.augment, self.ema = loss, n_critic, penalty, augment, ema
        # A module, so it is saved in checkpoints, moved to the device, and identical on every rank.
        self.generator_ema = ema_copy(self.generator) if ema is not None else None
        self.sample_with_ema = sample_with_ema
        # A buffer, so it is saved in checkpoints and identical on every rank: sample grids stay comparable.
        self.register_buffer("fixed_z", latent_noise(num_samples, self.nz, seed))
        # Class i % num_classes for sample i: a grid num_classes wide shows one class per column.
        fixed_y = torch.arange(num_samples) % self.num_classes if self.num_classes else None
        self.register_buffer("fixed_y", fixed_y)

    @property
    def networks(self) -> dict[str, nn.Module]:
        return {"discriminator": self.discriminator, "generator": self.generator}

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.generator(z, y)

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
            loss_g = self.generator_loss(len(real))
            self.update(optimizers["generator"], loss_g)

        # EMA: the averaged generator follows the trained one.
        if self.ema is not None:
            images = len(real) * self.trainer.world_size
            self.ema.update(self.generator_ema, self.generator, self.steps_done + 1, images)

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

    def fakes(self, n: int) -> tuple[Tensor, Tensor | None]:
        """G(z, y) for `n` codes from the training RNG, with uniformly drawn labels when conditional."""
        z = latent_noise(n, self.nz, device=self.device)
        y = torch.randint(self.num_classes, (n,), device=self.device) if self.num_classes else None
        return self.generator(z, y), y

    def discriminator_loss(self, real: Tensor, labels: Tensor | None):
        with torch.no_grad():
            fake, y = self.fakes(len(real))
        real_logits, fake_logits = self.discriminate(real, labels), self.discriminate(fake, y)
        return self.loss.discriminator(real_logits, fake_logits), real_logits, fake_logits, fake, y

    def discriminator_penalty(
        self, real: Tensor, labels: Tensor | None, fake: Tensor, fake_y: Tensor | None
    ) -> Tensor:
        # Interpolates (WGAN-GP) mix real and fake samples: they are scored with the real labels.
        return self.penalty(lambda x: self.discriminate(x, labels), real, fake)

    def generator_loss(self, n: int) -> Tensor:
        fake, y = self.fakes(n)
        return self.loss.generator(self.discriminate(fake, y))

    # --- the protocol ----------------------------------------------------------------------------------

    @property
    def sampler(self) -> nn.Module:
        """The generator samples come from: the EMA copy when the run has one (and `sample_with_ema`)."""
        if self.generator_ema is not None and self.sample_with_ema:
            return self.generator_ema
        return self.generator

    @torch.inference_mode()
    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """The sampler's G(z, y) in eval mode (batch-norm running statistics), as float32 on this system's
        device."""
        net = self.sampler
        was_training = net.training
        net.eval()
        out = net(z.to(self.device), y if y is None else y.to(self.device)).float()
        net.train(was_training)
        return out

    def sample_batches(
        self, n: int, seed: int, labels: Tensor | None = None, batch_size: int = 500
    ) -> Iterator[tuple[Tensor, Tensor | None]]:
        """`n` samples from noise fixed by `seed`, in batches on this system's device, each with the labels
        it was asked for. A conditional system draws class i % num_classes for sample i unless given
        `labels`."""
        if labels is None and self.num_classes:
            labels = torch.arange(n) % self.num_classes
        if labels is not None and not self.num_classes:
            raise ConfigError("this generator is unconditional: it takes no labels.")
        z = latent_noise(n, self.nz, seed)
        for start in range(0, n, batch_size):
            y = labels[start : start + batch_size] if labels is not None else None
            yield self.generate(z[start : start + batch_size], y), y

    def visuals(self) -> Visual:
        return Visual(self.generate(self.fixed_z, self.fixed_y), grid_columns(self.num_classes))
