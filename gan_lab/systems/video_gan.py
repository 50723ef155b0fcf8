"""The video GAN (MoCoGAN, Tulyakov et al. 2018): a clip generator against two discriminators, D_I on single
frames and D_V on whole clips, each with its own optimizer.

The recipe pieces apply to both discriminators: the `loss`, the `penalty` (on each D's own inputs), spectral
norm (in the networks), `augment` (DiffAugment: a frame is augmented as an image, a clip with one draw for
all its frames) and the `ema` of G.
"""

from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn
from torch.optim import Optimizer

from gan_lab.errors import ConfigError
from gan_lab.nets import latent_noise
from gan_lab.nets.ema import EMA
from gan_lab.nets.video import VideoGANNets, frames_of
from gan_lab.objectives import AdversarialLoss, Logits, Penalty
from gan_lab.systems.base import Visual, optimizers_per_network
from gan_lab.systems.generator import GeneratorSystem

# The optimizer group's `discriminator` is the setting of each discriminator, each with its own optimizer.
DISCRIMINATORS = {"discriminator": ("image_discriminator", "video_discriminator")}


class VideoGAN(GeneratorSystem):
    """Trains `nets(data_shape)`'s clip generator against its image and video discriminators.

    `training_step` runs four phases, each in its own method: D_I main (a random frame of each real and each
    fake clip), D_V main (whole clips), each with its penalty when due; G main (one batch of fake clips
    against both); EMA update.
    """

    def __init__(
        self,
        nets: Callable[..., VideoGANNets],
        loss: AdversarialLoss,
        optimizers: Mapping[str, Callable[..., Optimizer]],
        data_shape: tuple[int, ...],
        num_classes: int | None = None,
        grad_clip: float | None = None,
        penalty: Penalty | None = None,
        augment: Callable[[Tensor], Tensor] | None = None,
        ema: EMA | None = None,
        sample_with_ema: bool = True,
        num_samples: int = 8,
        seed: int = 0,
        channels_last: bool = False,
        lr_decay: str = "constant",
        lr_decay_steps: int | None = None,
        lr_decay_from: float = 0.0,
    ) -> None:
        built = nets(data_shape=tuple(data_shape), num_classes=None)  # unconditional: labels are ignored
        optimizers = optimizers_per_network(optimizers, DISCRIMINATORS)
        super().__init__(built.generator, built.nz, 0, optimizers, ema, sample_with_ema,
                         num_samples, seed, grad_clip, channels_last, lr_decay, lr_decay_steps,
                         lr_decay_from)  # fmt: skip
        self.image_discriminator = built.image_discriminator
        self.video_discriminator = built.video_discriminator
        self.loss, self.penalty, self.augment = loss, penalty, augment

    @property
    def networks(self) -> dict[str, nn.Module]:
        return {
            "image_discriminator": self.image_discriminator,
            "video_discriminator": self.video_discriminator,
            "generator": self.generator,
        }

    # --- the step --------------------------------------------------------------------------------------

    def training_step(self, batch, batch_idx: int) -> dict[str, Tensor]:
        real, _ = self.real_batch(batch)
        optimizers = self.named_optimizers()
        regularize = self.penalty is not None and self.penalty.due(self.steps_done)

        with self.training_only(optimizers["image_discriminator"]):
            # D_I main: D_I learns to tell a real frame from a generated one.
            loss_i, real_i, fake_i, penalty_i = self.discriminator_loss(self.judge_frames, real, regularize)
            self.update(optimizers["image_discriminator"], loss_i)

        with self.training_only(optimizers["video_discriminator"]):
            # D_V main: D_V learns to tell a real clip from a generated one, motion included.
            loss_v, real_v, fake_v, penalty_v = self.discriminator_loss(self.judge_clips, real, regularize)
            self.update(optimizers["video_discriminator"], loss_v)

        with self.training_only(optimizers["generator"]):
            # G main: G learns to fool both, with one batch of generated clips.
            fake, _ = self.fakes(len(real))
            loss_g = self.loss.generator(self.judge_frames(fake))
            loss_g = loss_g + self.loss.generator(self.judge_clips(fake))
            self.update(optimizers["generator"], loss_g)

        # EMA: the averaged generator follows the trained one.
        self.update_ema(len(real))

        self.steps_done += 1
        out = {
            "loss/d_image": loss_i.detach(),
            "loss/d_video": loss_v.detach(),
            "loss/g": loss_g.detach(),
            "d_image/real": self.loss.score(real_i),
            "d_image/fake": self.loss.score(fake_i),
            "d_video/real": self.loss.score(real_v),
            "d_video/fake": self.loss.score(fake_v),
        }
        if penalty_i is not None:
            out["loss/d_image_penalty"], out["loss/d_video_penalty"] = penalty_i.detach(), penalty_v.detach()
        return out

    def discriminator_loss(self, judge: Callable[[Tensor], Logits], real: Tensor, regularize: bool):
        """`judge`'s loss on real clips and fresh fakes, plus its penalty when due: (loss, real logits, fake
        logits, penalty or None)."""
        with torch.no_grad():
            fake, _ = self.fakes(len(real))
        real_logits, fake_logits = judge(real), judge(fake)
        loss = self.loss.discriminator(real_logits, fake_logits)
        penalty = self.penalty(judge, real, fake) if regularize else None
        return (loss if penalty is None else loss + penalty), real_logits, fake_logits, penalty

    def judge_frames(self, clips: Tensor) -> Logits:
        """D_I on one random frame of each clip: the one place D_I is called, so augmentation reaches every
        one of its inputs."""
        frame = torch.randint(clips.shape[2], (len(clips),), device=clips.device)
        images = clips[torch.arange(len(clips), device=clips.device), :, frame]
        return self.image_discriminator(self.augment(images) if self.augment is not None else images)

    def judge_clips(self, clips: Tensor) -> Logits:
        """D_V on whole clips: the one place D_V is called (augmented with one draw per clip)."""
        return self.video_discriminator(self.augment(clips) if self.augment is not None else clips)

    # --- the protocol ----------------------------------------------------------------------------------

    def visuals(self) -> Visual:
        """The fixed-noise clips, as a filmstrip (one row per clip, one column per frame) and as clips."""
        clips = self.generate(self.fixed_z)
        return Visual(frames_of(clips), columns=clips.shape[2], clips=clips)

    def sample_held(self, n: int, seed: int, held: str) -> Tensor:
        """`n` clips from noise fixed by `seed` that share the first clip's `held` part of the latent
        (`content`: the same digits, each its own motion; `motion`: one motion, each its own content)."""
        if held not in ("content", "motion"):
            raise ConfigError(f"held={held!r}: hold content or motion.")
        content, start, noise = self.sampler.split(latent_noise(n, self.nz, seed))
        if held == "content":
            content = content[:1].expand_as(content)
        else:
            start, noise = start[:1].expand_as(start), noise[:1].expand_as(noise)
        return self.generate(self.sampler.join(content, start, noise)).cpu()
