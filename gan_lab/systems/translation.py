"""Unpaired image-to-image translation (CycleGAN, Zhu et al. 2017): G_AB and G_BA, one per direction, against
D_A and D_B, one per domain, each network with its own optimizer.

The generators learn together from one loss: each fools the other domain's D (`loss`, least squares in the
paper), translating there and back returns the input (cycle L1, weight `lambda_cycle`), and an image already
of a generator's target domain is left alone (identity L1, weight `lambda_identity` x `lambda_cycle`). Each D
learns from real images of its domain against generated ones drawn through a pool of past fakes.
"""

from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from gan_lab.errors import ConfigError
from gan_lab.nets.translation import TranslationNets
from gan_lab.objectives import AdversarialLoss, ImagePool, Logits, cycle_loss, identity_loss
from gan_lab.systems.base import System, Visual, optimizers_per_network

# The optimizer group's settings, given to each network of the kind (each gets its own optimizer).
NETWORKS = {
    "generator": ("generator_ab", "generator_ba"),
    "discriminator": ("discriminator_a", "discriminator_b"),
}
DIRECTIONS = ("a2b", "b2a")


class CycleGAN(System):
    """Trains `nets(data_shape)`'s two generators against its two discriminators on batches of (A, B) images.

    `training_step` runs three phases, as CycleGAN's code does: G main (both generators, one loss), D_A main,
    D_B main (each on real images against pooled fakes). The sample grids translate `num_samples` fixed test
    images of each domain there and back. Under DDP the pools are buffers, which the base class copies from
    rank zero to every rank after each step (as it does batch-norm statistics): every rank draws from rank
    zero's pool, so the other ranks' fakes are shown to D once and not kept.
    """

    shows_visuals = True
    translates = True

    def __init__(
        self,
        nets: Callable[..., TranslationNets],
        loss: AdversarialLoss,
        optimizers: Mapping[str, Callable[..., Optimizer]],
        data_shape: tuple[int, ...],
        num_classes: int | None = None,
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        adversarial_weight: float = 1.0,
        pool_size: int = 50,
        augment: Callable[[Tensor], Tensor] | None = None,
        num_samples: int = 8,
        seed: int = 0,
        grad_clip: float | None = None,
        channels_last: bool = False,
        lr_decay: str = "linear",
        lr_decay_steps: int | None = None,
        lr_decay_from: float = 0.5,
    ) -> None:
        for key, value in (("lambda_cycle", lambda_cycle), ("lambda_identity", lambda_identity),
                           ("adversarial_weight", adversarial_weight), ("pool_size", pool_size)):  # fmt: skip
            if value < 0:
                raise ConfigError(f"system.{key}={value}: use a weight (or size) of 0 or more.")
        if num_samples < 1:
            raise ConfigError(
                f"system.num_samples={num_samples}: the grids need at least 1 test image (samples.num)."
            )
        optimizers = optimizers_per_network(optimizers, NETWORKS)
        super().__init__(optimizers, seed, grad_clip, channels_last, lr_decay, lr_decay_steps, lr_decay_from)
        built = nets(data_shape=tuple(data_shape), num_classes=None)  # unconditional
        self.generator_ab, self.generator_ba = built.generator_ab, built.generator_ba
        self.discriminator_a, self.discriminator_b = built.discriminator_a, built.discriminator_b
        self.loss, self.augment = loss, augment
        self.lambda_cycle, self.lambda_identity = lambda_cycle, lambda_identity
        self.adversarial_weight = adversarial_weight
        # Past fakes of each domain, for its D: buffers, so that checkpoints keep them.
        self.pool_a, self.pool_b = ImagePool(pool_size, data_shape), ImagePool(pool_size, data_shape)
        # The grid's inputs: test images of each domain, taken from the data at the first training start and
        # kept in checkpoints (`fixed_count` of them; 0 = not taken yet).
        self.register_buffer("fixed_a", torch.zeros(num_samples, *data_shape))
        self.register_buffer("fixed_b", torch.zeros(num_samples, *data_shape))
        self.register_buffer("fixed_count", torch.zeros((), dtype=torch.long))

    @property
    def networks(self) -> dict[str, nn.Module]:
        return {
            "generator_ab": self.generator_ab,
            "generator_ba": self.generator_ba,
            "discriminator_a": self.discriminator_a,
            "discriminator_b": self.discriminator_b,
        }

    # --- the step --------------------------------------------------------------------------------------

    def training_step(self, batch, batch_idx: int) -> dict[str, Tensor]:
        real_a, real_b = self.real_pair(batch)
        optimizers = self.named_optimizers()
        generators = [optimizers["generator_ab"], optimizers["generator_ba"]]

        with self.training_only(*generators):
            # G main: both generators, from one loss: adversarial + cycle + identity.
            fake_a, fake_b, losses = self.generator_losses(real_a, real_b)
            self.update(generators, losses["loss/g"])

        with self.training_only(optimizers["discriminator_a"]):
            # D_A main: real images of A against generated ones, half of them from the pool of past fakes.
            loss_a, real_logits_a, fake_logits_a = self.discriminator_loss(
                self.judge_a, real_a, self.pool_a.query(fake_a)
            )
            self.update(optimizers["discriminator_a"], loss_a)

        with self.training_only(optimizers["discriminator_b"]):
            # D_B main: the same for B.
            loss_b, real_logits_b, fake_logits_b = self.discriminator_loss(
                self.judge_b, real_b, self.pool_b.query(fake_b)
            )
            self.update(optimizers["discriminator_b"], loss_b)

        self.steps_done += 1
        return {
            **{name: value.detach() for name, value in losses.items()},
            "loss/d_a": loss_a.detach(),
            "loss/d_b": loss_b.detach(),
            "d_a/real": self.loss.score(real_logits_a),
            "d_a/fake": self.loss.score(fake_logits_a),
            "d_b/real": self.loss.score(real_logits_b),
            "d_b/fake": self.loss.score(fake_logits_b),
        }

    def generator_losses(self, real_a: Tensor, real_b: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """G_BA(b), G_AB(a) and the generators' loss with its terms, by name."""
        fake_b, fake_a = self.generator_ab(real_a), self.generator_ba(real_b)
        adversarial = self.loss.generator(self.judge_b(fake_b)) + self.loss.generator(self.judge_a(fake_a))
        cycle = cycle_loss(real_a, self.generator_ba(fake_b)) + cycle_loss(real_b, self.generator_ab(fake_a))
        total = self.adversarial_weight * adversarial + self.lambda_cycle * cycle
        losses = {"loss/g_adversarial": adversarial, "loss/cycle": cycle}
        if self.lambda_identity:
            identity = identity_loss(real_b, self.generator_ab(real_b))
            identity = identity + identity_loss(real_a, self.generator_ba(real_a))
            total = total + self.lambda_cycle * self.lambda_identity * identity
            losses["loss/identity"] = identity
        return fake_a, fake_b, {"loss/g": total, **losses}

    def discriminator_loss(
        self, judge: Callable[[Tensor], Logits], real: Tensor, fake: Tensor
    ) -> tuple[Tensor, Logits, Logits]:
        real_logits, fake_logits = judge(real), judge(fake)
        return self.loss.discriminator(real_logits, fake_logits), real_logits, fake_logits

    def judge_a(self, images: Tensor) -> Logits:
        """D_A: the one place it is called, so augmentation reaches every one of its inputs."""
        return self.discriminator_a(self.augment(images) if self.augment is not None else images)

    def judge_b(self, images: Tensor) -> Logits:
        """D_B: the one place it is called."""
        return self.discriminator_b(self.augment(images) if self.augment is not None else images)

    def real_pair(self, batch) -> tuple[Tensor, Tensor]:
        """The batch's images of A and of B, in the networks' memory layout."""
        real_a, real_b = batch
        if self.channels_last:
            real_a = real_a.contiguous(memory_format=torch.channels_last)
            real_b = real_b.contiguous(memory_format=torch.channels_last)
        return real_a, real_b

    # --- hooks -----------------------------------------------------------------------------------------

    def setup(self, stage: str) -> None:
        if self.trainer is None:
            return
        datamodule = self.trainer.datamodule
        if not getattr(datamodule, "yields_pairs", False):
            raise ConfigError(
                f"system=cyclegan translates between two domains; dataset {datamodule.name} gives no (A, B) "
                "batches. Use dataset=unpaired (with dataset.domain_a and dataset.domain_b), or an "
                "experiment such as experiment=cyclegan_smiling."
            )
        if "16" in str(self.trainer.precision) and "bf16" not in str(self.trainer.precision):
            # One scaled backward serves both generators' steps, and the gradient scaler updates its scale
            # after each step: the second generator would be unscaled by the wrong factor.
            raise ConfigError(
                f"trainer.precision={self.trainer.precision} cannot train system=cyclegan: both generators "
                "step on one scaled loss. Use bf16-mixed (no loss scaling) or 32."
            )

    def on_train_start(self) -> None:
        super().on_train_start()
        if int(self.fixed_count) == 0:  # a resumed run has them from its checkpoint
            fixed_a, fixed_b = self.trainer.datamodule.fixed_inputs(len(self.fixed_a))
            count = len(fixed_a)
            self.fixed_a[:count], self.fixed_b[:count] = fixed_a, fixed_b
            self.fixed_count.fill_(count)

    # --- the protocol ----------------------------------------------------------------------------------

    @torch.inference_mode()
    def translate(self, images: Tensor, direction: str, batch_size: int = 64) -> Tensor:
        if direction not in DIRECTIONS:
            raise ConfigError(f"direction={direction!r}: use a2b (G_AB) or b2a (G_BA).")
        net = self.generator_ab if direction == "a2b" else self.generator_ba
        was_training = net.training
        net.eval()
        out = [net(images[i : i + batch_size].to(self.device)).float().cpu()
               for i in range(0, len(images), batch_size)]  # fmt: skip
        net.train(was_training)
        return torch.cat(out)

    def visuals(self) -> Visual:
        """Six rows of the fixed test images: x_A, G_AB(x_A), G_BA(G_AB(x_A)), x_B, G_BA(x_B),
        G_AB(G_BA(x_B))."""
        count = int(self.fixed_count)
        a, b = self.fixed_a[:count].cpu(), self.fixed_b[:count].cpu()
        ab, ba = self.translate(a, "a2b"), self.translate(b, "b2a")
        rows = [a, ab, self.translate(ab, "b2a"), b, ba, self.translate(ba, "a2b")]
        return Visual(torch.cat(rows), columns=max(count, 1))
