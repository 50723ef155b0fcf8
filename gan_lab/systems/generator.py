"""What every GAN family shares on the generator side: G, its EMA copy, the fixed noise of the sample grids,
and the protocol tools sample through (`sample_batches`, `generate`, `visuals`)."""

from collections.abc import Callable, Iterator, Mapping

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from gan_lab.errors import ConfigError
from gan_lab.nets import latent_noise
from gan_lab.nets.ema import EMA, ema_copy
from gan_lab.systems.base import System, Visual, grid_columns


class GeneratorSystem(System):
    """A system with a `generator` of latent codes of size `nz` (and labels, when `num_classes`), an optional
    `ema` of it that sampling uses, and `num_samples` fixed codes for its sample grids."""

    generative = True
    shows_visuals = True

    def __init__(
        self,
        generator: nn.Module,
        nz: int,
        num_classes: int,
        optimizers: Mapping[str, Callable[..., Optimizer]],
        ema: EMA | None = None,
        sample_with_ema: bool = True,
        num_samples: int = 64,
        seed: int = 0,
        grad_clip: float | None = None,
        channels_last: bool = False,
        lr_decay: str = "constant",
        lr_decay_steps: int | None = None,
        lr_decay_from: float = 0.0,
    ) -> None:
        super().__init__(optimizers, seed, grad_clip, channels_last, lr_decay, lr_decay_steps, lr_decay_from)
        self.generator, self.nz, self.num_classes, self.ema = generator, nz, num_classes, ema
        # A module, so it is saved in checkpoints, moved to the device, and identical on every rank.
        self.generator_ema = ema_copy(self.generator) if ema is not None else None
        self.sample_with_ema = sample_with_ema
        # A buffer, so it is saved in checkpoints and identical on every rank: sample grids stay comparable.
        self.register_buffer("fixed_z", latent_noise(num_samples, self.nz, seed))
        # Class i % num_classes for sample i: a grid num_classes wide shows one class per column.
        fixed_y = torch.arange(num_samples) % self.num_classes if self.num_classes else None
        self.register_buffer("fixed_y", fixed_y)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.generator(z, y)

    def fakes(self, n: int) -> tuple[Tensor, Tensor | None]:
        """G(z, y) for `n` codes from the training RNG, with uniformly drawn labels when conditional."""
        z = latent_noise(n, self.nz, device=self.device)
        y = torch.randint(self.num_classes, (n,), device=self.device) if self.num_classes else None
        return self.generator(z, y), y

    def update_ema(self, batch_size: int) -> None:
        """EMA: the averaged generator follows the trained one (`batch_size` samples per process)."""
        if self.ema is not None:
            images = batch_size * self.trainer.world_size
            self.ema.update(self.generator_ema, self.generator, self.steps_done + 1, images)

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
