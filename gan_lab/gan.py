"""The GAN LightningModule: manual optimization, `n_critic` D updates then one G update per batch.

A conditional pair (`nets.num_classes` > 0) sees each real batch with its labels, and fakes are drawn for
labels sampled uniformly.
"""

from collections.abc import Callable

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.seed import _collect_rng_states, _set_rng_states
from torch import Tensor
from torch.optim import Optimizer

from gan_lab.errors import ConfigError
from gan_lab.models import GANNets


def logged_at(trainer: pl.Trainer, done: int, total: int) -> bool:
    """Whether values logged in the batch that makes `done` steps (of `total`) reach the logger: Lightning
    sends them every `trainer.log_every_n_steps` batches and drops the rest, and self.log costs time even
    when dropped (measured: most of gan_lab's overhead over a plain loop on a small GAN). The last step
    always logs, so that a run's final values are its last step's."""
    return done % trainer.log_every_n_steps == 0 or done == total


class GAN(pl.LightningModule):
    """Trains `nets.generator` against `nets.discriminator` with an adversarial `loss`.

    The user-visible step is the number of generator updates (`steps_done`). Lightning's `global_step` counts
    every optimizer step, n_critic + 1 per batch, so it is never shown.
    """

    def __init__(
        self,
        nets: GANNets,
        loss,
        optimizer: Callable[..., Optimizer],
        lr_g: float,
        lr_d: float,
        n_critic: int = 1,
        grad_clip: float | None = None,
        num_samples: int = 64,
        seed: int = 0,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.generator, self.discriminator, self.nz = nets.generator, nets.discriminator, nets.nz
        self.num_classes = nets.num_classes
        self.loss, self.optimizer, self.lr_g, self.lr_d = loss, optimizer, lr_g, lr_d
        self.n_critic, self.grad_clip, self.seed, self.channels_last = (
            n_critic,
            grad_clip,
            seed,
            channels_last,
        )
        # A buffer, so it is saved in checkpoints and identical on every rank: sample grids stay comparable.
        self.register_buffer(
            "fixed_z", torch.randn(num_samples, nets.nz, generator=torch.Generator().manual_seed(seed))
        )
        # Class i % num_classes for sample i: a grid num_classes wide shows one class per column.
        fixed_y = torch.arange(num_samples) % nets.num_classes if nets.num_classes else None
        self.register_buffer("fixed_y", fixed_y)
        self._rng_to_restore: dict | None = None
        # Learning rates are lr_g/lr_d times this: lowered by each divergence rollback, kept in checkpoints.
        self.lr_scale, self._lr_scale_to_restore = 1.0, None

    @property
    def steps_done(self) -> int:
        return self.global_step // (self.n_critic + 1)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.generator(z, y)

    def _noise(self, batch_size: int) -> tuple[Tensor, Tensor | None]:
        """Latent codes, and uniformly drawn labels for a conditional pair."""
        z = torch.randn(batch_size, self.nz, device=self.device)
        y = torch.randint(self.num_classes, (batch_size,), device=self.device) if self.num_classes else None
        return z, y

    def configure_optimizers(self) -> list[Optimizer]:
        return [
            self.optimizer(self.discriminator.parameters(), lr=self.lr_d),
            self.optimizer(self.generator.parameters(), lr=self.lr_g),
        ]

    def _update(self, optimizer, loss: Tensor) -> None:
        # toggle_optimizer freezes the other network, so its weights get no gradients (and DDP no reductions).
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()

    def training_step(self, batch, batch_idx: int) -> None:
        real, labels = batch[0], batch[1] if self.num_classes else None
        if self.channels_last:  # as the weights are (train.channels_last): no layout conversion in each conv
            real = real.contiguous(memory_format=torch.channels_last)
        opt_d, opt_g = self.optimizers()

        self.toggle_optimizer(opt_d)
        for _ in range(self.n_critic):
            z, y = self._noise(real.size(0))
            with torch.no_grad():
                fake = self.generator(z, y)
            real_logits, fake_logits = self.discriminator(real, labels), self.discriminator(fake, y)
            loss_d = self.loss.discriminator(real_logits, fake_logits)
            self._update(opt_d, loss_d)
        self.untoggle_optimizer(opt_d)

        self.toggle_optimizer(opt_g)
        z, y = self._noise(real.size(0))
        gen_logits = self.discriminator(self.generator(z, y), y)
        loss_g = self.loss.generator(gen_logits)
        self._update(opt_g, loss_g)
        self.untoggle_optimizer(opt_g)

        losses = {"loss/d": loss_d.detach(), "loss/g": loss_g.detach()}
        total = self.trainer.max_steps // (self.n_critic + 1)
        if self.steps_done == total:
            # Lightning sends logged values to the loggers on multiples of log_every_n_steps, or when the
            # Trainer is told to stop: the last step's values reach them whatever train.steps is.
            self.trainer.should_stop = True
        if logged_at(self.trainer, self.steps_done, total):
            self.log_dict(losses, prog_bar=True)
            self.log_dict(
                {
                    # Probabilities, as in the DCGAN paper's D(x) and D(G(z)); D itself returns logits.
                    "d/real": torch.sigmoid(real_logits.detach().float()).mean(),
                    "d/fake": torch.sigmoid(fake_logits.detach().float()).mean(),
                    "lr/g": opt_g.param_groups[0]["lr"],
                    "lr/d": opt_d.param_groups[0]["lr"],
                    # The loggers' x-axis: generator steps, as samples and evaluations are numbered
                    # (Lightning would use the batches done before this one, one less).
                    "step": float(self.steps_done),
                }
            )
        return losses  # for the DivergenceGuard callback

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        # Clip here rather than in training_step: under 16-mixed, Lightning has unscaled the gradients by now.
        if self.grad_clip:
            self.clip_gradients(optimizer, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")

    @torch.inference_mode()
    def sample(self, z: Tensor | None = None, y: Tensor | None = None) -> Tensor:
        """G(z, y) in eval mode (batch-norm running statistics); the fixed noise and labels by default."""
        was_training = self.generator.training
        self.generator.eval()
        out = self.generator(self.fixed_z, self.fixed_y) if z is None else self.generator(z, y)
        self.generator.train(was_training)
        return out.float()

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        states = _collect_rng_states()
        # NumPy's key array as a list keeps the checkpoint loadable with torch.load(weights_only=True).
        kind, keys, *rest = states["numpy"]
        states["numpy"] = (kind, keys.tolist(), *rest)
        checkpoint["rng_states"] = states
        checkpoint["lr_scale"] = self.lr_scale

    def roll_back(self, factor: float) -> None:
        """Lower both learning rates by `factor`, from the next checkpoint load on (the rollback's)."""
        self._lr_scale_to_restore = self.lr_scale * factor

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        saved_steps = checkpoint.get("gan_lab", {}).get("steps_done")
        if saved_steps is not None and checkpoint["global_step"] // (self.n_critic + 1) != saved_steps:
            raise ConfigError(
                f"train.n_critic={self.n_critic} differs from the run that wrote this checkpoint "
                f"({saved_steps} generator steps in {checkpoint['global_step']} optimizer steps); "
                "resume with its value."
            )
        # Applied at train start, after everything that runs between loading and the first batch.
        self._rng_to_restore = checkpoint.get("rng_states")
        self.lr_scale = self._lr_scale_to_restore or checkpoint.get("lr_scale", 1.0)
        self._lr_scale_to_restore = None

    def on_train_start(self) -> None:
        # The configured rates win over a checkpoint's, so that "resume with a lower lr" does what it says.
        opt_d, opt_g = self.optimizers()
        for optimizer, lr in ((opt_d, self.lr_d), (opt_g, self.lr_g)):
            for group in optimizer.param_groups:
                group["lr"] = lr * self.lr_scale
        if self._rng_to_restore is not None:
            _set_rng_states(self._rng_to_restore)
            self._rng_to_restore = None
        if self.trainer.world_size > 1:  # each rank draws its own noise (a checkpoint holds rank zero's RNG)
            torch.manual_seed(self.seed + 1_000_003 * self.global_rank + self.steps_done)
