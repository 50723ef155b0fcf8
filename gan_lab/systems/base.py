"""What every system shares: its own step counter, one optimizer per named network, the learning-rate
overrides and rollbacks, the RNG states in checkpoints, and the protocol tools use to reach it.

A *system* is the LightningModule of one family of training (the latent GAN, the classifier, ...). Tools
(evaluation, `generate`, `inpaint`, the callbacks, checkpoint loading) reach a system only through:

- `networks`: its named networks (`generator`, `discriminator`, ...), the ones its optimizers train;
- `sample(n, seed, labels=...)`: samples in the data's shape (EMA weights when the run has them);
- `visuals()`: what a sample grid shows, and `shows_visuals`: whether there is any;
- `num_classes`: how many labels its samples can be asked for (0: none);
- `generative`: whether it makes samples from noise (the classifier and translation do not);
- `translates` and `translate(images, direction)`: a translation system's two mappings;
- `sample_held(n, seed, held)`: a video generator's clips sharing their content or their motion.

Logging cadence and the last-step stop live in the `StepBookkeeping` callback: a `training_step` returns its
scalars and does nothing else with them.
"""

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.seed import _collect_rng_states, _set_rng_states
from torch import Tensor, nn
from torch.optim import Optimizer

from gan_lab.errors import ConfigError

FORMAT = 2  # checkpoint layout: 2 = systems (gan_lab 0.2); files without it were written by gan_lab 0.1

LR_DECAYS = ("constant", "linear", "cosine")


def lr_factor(decay: str, step: int, total: int, start: float = 0.0) -> float:
    """The learning-rate multiplier at `step` of `total`: 1 throughout (`constant`), or 1 until the share
    `start` of `total` is done, then falling to 0 at `total` in a straight line (`linear`) or a half cosine
    (`cosine`). CycleGAN's schedule is `linear` from start=0.5."""
    first = start * total
    progress = min(max(step - first, 0.0) / (total - first), 1.0) if total > first else 0.0
    if decay == "linear":
        return 1.0 - progress
    if decay == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0


def optimizers_per_network(
    optimizers: Mapping[str, Callable[..., Optimizer]], shared: Mapping[str, tuple[str, ...]]
) -> dict[str, Callable[..., Optimizer]]:
    """One optimizer setting per network. The optimizer group sets `generator` and `discriminator`; a family
    with several networks of a kind (`shared`: kind -> its network names) gives each of them the kind's
    setting, unless the config sets that network's own."""
    optimizers = dict(optimizers)
    for group, names in shared.items():
        setting = optimizers.pop(group, None)
        for name in names:
            if name not in optimizers and setting is not None:
                optimizers[name] = setting
    return optimizers


@dataclass
class Visual:
    """What a sample grid shows: `samples` (images, or 2D points) laid out `columns` per row; a video
    generator adds its `clips` (N, C, T, H, W), written as a grid video beside the grid."""

    samples: Tensor
    columns: int = 8
    clips: Tensor | None = None


def grid_columns(num_classes: int) -> int:
    """Images per grid row. Sample i of a conditional grid is of class i % num_classes, so 3-16 classes get
    one column per class; 2 classes alternate by column in the usual 8."""
    return num_classes if 3 <= num_classes <= 16 else 8


class System(pl.LightningModule):
    """Manual optimization, one optimizer per named network (`optimizers`: name -> partial optimizer).

    `steps_done` is the step a user sees (generator updates for a GAN, optimizer steps for the classifier):
    the system's own counter, saved in checkpoints. Lightning's `global_step` counts every optimizer step and
    is never shown.
    """

    num_classes: int = 0
    generative = False  # whether it makes samples from noise: generator metrics apply
    shows_visuals = False  # whether `visuals()` has something to show: sample grids are written
    translates = False  # whether `translate()` maps images between two domains

    def __init__(
        self,
        optimizers: Mapping[str, Callable[..., Optimizer]],
        seed: int = 0,
        grad_clip: float | None = None,
        channels_last: bool = False,
        lr_decay: str = "constant",
        lr_decay_steps: int | None = None,
        lr_decay_from: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= lr_decay_from < 1.0:
            raise ConfigError(
                f"system.lr_decay_from={lr_decay_from}: use the share of lr_decay_steps run at the full rate "
                "before the decay starts, from 0 (decay from the first step) to below 1."
            )
        if lr_decay not in LR_DECAYS:
            raise ConfigError(f"system.lr_decay={lr_decay!r} is unknown: use one of {', '.join(LR_DECAYS)}.")
        if lr_decay != "constant" and not (isinstance(lr_decay_steps, int) and lr_decay_steps > 0):
            raise ConfigError(
                f"system.lr_decay={lr_decay} needs system.lr_decay_steps > 0 (got {lr_decay_steps}): the "
                "step at which the rates reach 0, usually ${train.steps}."
            )
        self.lr_decay, self.lr_decay_steps, self.lr_decay_from = lr_decay, lr_decay_steps, lr_decay_from
        for name, factory in optimizers.items():
            lr = getattr(factory, "keywords", {}).get("lr")
            if lr is not None and not lr > 0:
                raise ConfigError(
                    f"system.optimizers.{name}.lr={lr} cannot work: use a positive learning rate."
                )
        self.automatic_optimization = False
        self.optimizer_factories, self.seed = dict(optimizers), seed
        self.grad_clip, self.channels_last = grad_clip, channels_last
        self.steps_done = 0
        # Learning rates are the configured ones times this: lowered by each divergence rollback, kept in
        # checkpoints.
        self.lr_scale, self._lr_scale_to_restore = 1.0, None
        self._rng_to_restore: dict | None = None
        self._configured_lrs: list[list[float]] = []

    # --- the protocol ------------------------------------------------------------------------------------

    @property
    def networks(self) -> dict[str, nn.Module]:
        """The named networks, each trained by the optimizer of the same name."""
        raise NotImplementedError

    def sample_batches(
        self, n: int, seed: int, labels: Tensor | None = None, batch_size: int = 500
    ) -> Iterator[tuple[Tensor, Tensor | None]]:
        """`n` samples from noise fixed by `seed`, batch by batch on this system's device, each with the
        labels it was asked for (None when not conditional)."""
        raise ConfigError(f"this is a {type(self).__name__} run: it has no generator to sample from.")

    def sample(self, n: int, seed: int, labels: Tensor | None = None, batch_size: int = 500) -> Tensor:
        """`n` samples from noise fixed by `seed` (the same seed gives the same samples), on the CPU."""
        return torch.cat([s.cpu() for s, _ in self.sample_batches(n, seed, labels, batch_size)])

    def visuals(self) -> Visual:
        """What the sample grids show (generative systems)."""
        raise ConfigError(f"this is a {type(self).__name__} run: it makes no samples to show.")

    def sample_held(self, n: int, seed: int, held: str) -> Tensor:
        """`n` samples that share one part of their latent, `held` (a video generator's `content` or
        `motion`), and differ in the rest; on the CPU."""
        raise ConfigError(
            f"this is a {type(self).__name__} run: its latent has no content and motion parts to hold; "
            "mode=content_motion is for video generators (model=mocogan)."
        )

    def translate(self, images: Tensor, direction: str) -> Tensor:
        """`images` of one domain translated into the other (`direction` a2b or b2a), on the CPU."""
        raise ConfigError(
            f"this is a {type(self).__name__} run, not a translation run: translate takes a checkpoint of "
            "system=cyclegan (experiment=cyclegan_selfie2anime, cyclegan_smiling)."
        )

    # --- optimization ------------------------------------------------------------------------------------

    def configure_optimizers(self) -> list[Optimizer]:
        unknown = set(self.optimizer_factories) - set(self.networks)
        if unknown:
            raise ConfigError(
                f"system.optimizers has {sorted(unknown)}: name one optimizer per network "
                f"({', '.join(self.networks)})."
            )
        optimizers = [self.optimizer_factories[name](net.parameters()) for name, net in self.networks.items()]
        self._configured_lrs = [[group["lr"] for group in opt.param_groups] for opt in optimizers]
        return optimizers

    def set_learning_rates(self) -> None:
        """Every rate = configured x rollback scale x the decay's factor at `steps_done`: a function of the
        step alone, so a resumed run follows the same schedule without saving one."""
        decay = lr_factor(self.lr_decay, self.steps_done, self.lr_decay_steps or 0, self.lr_decay_from)
        factor = self.lr_scale * decay
        for optimizer, lrs in zip(self.named_optimizers().values(), self._configured_lrs, strict=True):
            for group, lr in zip(optimizer.param_groups, lrs, strict=True):
                group["lr"] = lr * factor

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        if self.lr_decay != "constant":
            self.set_learning_rates()

    def named_optimizers(self) -> dict[str, Optimizer]:
        """This system's (Lightning-wrapped) optimizers by network name."""
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        return dict(zip(self.networks, optimizers, strict=True))

    @contextmanager
    def training_only(self, *optimizers) -> Iterator[None]:
        """A phase that trains the networks of `optimizers`: the others are frozen from its first forward pass
        on, so they get no gradients (and DDP reduces none of theirs)."""
        trained = {p for optimizer in optimizers for group in optimizer.param_groups for p in group["params"]}
        frozen = [p for p in self.parameters() if p.requires_grad and p not in trained]
        for parameter in frozen:
            parameter.requires_grad_(False)
        try:
            yield
        finally:
            for parameter in frozen:
                parameter.requires_grad_(True)

    def update(self, optimizers, loss: Tensor) -> None:
        """One step of `optimizers` (one optimizer, or a list of them) on `loss`."""
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        for optimizer in optimizers:
            optimizer.step()

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        # The networks run outside DDP's forward, so DDP never broadcasts their buffers: each rank's
        # batch-norm statistics would follow its own batches. Rank zero's go to all, as DDP would do.
        if self.trainer.world_size > 1 and torch.distributed.is_initialized():
            for buffer in self.buffers():
                torch.distributed.broadcast(buffer, src=0)

    def on_before_optimizer_step(self, optimizer: Optimizer) -> None:
        # Clip here rather than in training_step: under 16-mixed, Lightning has unscaled the gradients by now.
        if self.grad_clip:
            self.clip_gradients(optimizer, gradient_clip_val=self.grad_clip, gradient_clip_algorithm="norm")

    def roll_back(self, factor: float) -> None:
        """Lower every learning rate by `factor`, from the next checkpoint load on (the rollback's)."""
        self._lr_scale_to_restore = self.lr_scale * factor

    def real_batch(self, batch) -> tuple[Tensor, Tensor | None]:
        """The batch's samples (in the networks' memory layout) and labels (None when not conditional)."""
        real = batch[0]
        if self.channels_last:  # as the weights are (train.channels_last): no layout conversion in each conv
            real = real.contiguous(memory_format=torch.channels_last)
        return real, batch[1] if self.num_classes else None

    # --- checkpoints -------------------------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        states = _collect_rng_states()
        # NumPy's key array as a list keeps the checkpoint loadable with torch.load(weights_only=True).
        kind, keys, *rest = states["numpy"]
        states["numpy"] = (kind, keys.tolist(), *rest)
        checkpoint["system"] = {
            "format": FORMAT,
            "steps_done": self.steps_done,
            "lr_scale": self.lr_scale,
            "rng_states": states,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        saved = checkpoint["system"]  # read_checkpoint has refused files without it
        self.steps_done = saved["steps_done"]
        # Applied at train start, after everything that runs between loading and the first batch.
        self._rng_to_restore = saved["rng_states"]
        self.lr_scale = self._lr_scale_to_restore or saved["lr_scale"]
        self._lr_scale_to_restore = None

    def on_train_start(self) -> None:
        # The configured rates win over a checkpoint's, so that "resume with a lower lr" does what it says.
        self.set_learning_rates()
        if self._rng_to_restore is not None:
            _set_rng_states(self._rng_to_restore)
            self._rng_to_restore = None
        if self.trainer.world_size > 1:  # each rank draws its own noise (a checkpoint holds rank zero's RNG)
            torch.manual_seed(self.seed + 1_000_003 * self.global_rank + self.steps_done)
