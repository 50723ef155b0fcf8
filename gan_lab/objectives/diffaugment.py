"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

The same random, differentiable augmentation is applied to every image D sees, real and fake, in D's and in
G's step, so D cannot overfit a small dataset while G still gets gradients through the augmentation.

The ops and their random draws follow the reference implementation (mit-han-lab/data-efficient-gans,
DiffAugment_pytorch.py), in the same order and ranges, on images in [-1, 1]:

- color: brightness x + b, b ~ U[-0.5, 0.5); saturation (x - mean_C) * s + mean_C, s ~ U[0, 2);
  contrast (x - mean_CHW) * c + mean_CHW, c ~ U[0.5, 1.5). One b, s, c per sample.
- translation: an integer shift per sample of up to round(ratio * size) pixels on each axis, zero fill.
- cutout: a square of side round(ratio * size) per sample, centred at a random pixel, set to 0; where it
  overhangs the border only its part inside the image is cut, as in the reference.

("round" is round-half-up, int(v + 0.5), as the reference.) Where the ops come from:

- brightness: `kornia.enhance.adjust_brightness(x, b, clip_output=False)`, which is exactly x + b with a
  per-sample factor (its default clips to [0, 1], which would be wrong on [-1, 1] images).
- saturation, contrast: hand-written. kornia's `adjust_saturation` works in HSV on [0, 1] images,
  `adjust_saturation_with_gray_subtraction` and `adjust_contrast_with_mean_subtraction` blend with the
  luma-weighted grayscale (0.299, 0.587, 0.114) and clip to [0, 1], and `adjust_contrast` scales without
  subtracting the mean: none is the reference's maths.
- translation, cutout: hand-written (gather and mask). kornia's `translate` resamples through
  `grid_sample` (interpolation weights, not an exact integer shift), and kornia.augmentation's
  `RandomTranslate`/`RandomErasing` draw their own parameters from their own ranges (erasing picks a
  scale and aspect ratio, not a fixed-size square).

Every random number is drawn per sample on torch's global RNG, on x's device, so a resumed run (which
restores the RNG states) augments exactly as the uninterrupted one. Clips (B, C, T, H, W) get one draw per
clip, applied to each of its frames: `group` consecutive images of a batch share their draws.
"""

import torch
import torch.nn.functional as F
from kornia.enhance import adjust_brightness
from torch import Tensor

from gan_lab.errors import ConfigError

POLICY_WORDS = ("color", "translation", "cutout")


def _pixels(size: int, ratio: float) -> int:
    """round(ratio * size), rounding halves up as the reference does."""
    return int(size * ratio + 0.5)


def _per_sample(x: Tensor, group: int = 1) -> Tensor:
    """One U[0, 1) number per group of `group` samples, shaped (B, 1, 1, 1) to broadcast over an image."""
    draws = torch.rand(x.size(0) // group, 1, 1, 1, dtype=x.dtype, device=x.device)
    return draws.repeat_interleave(group, dim=0)


def _per_sample_int(low: int, high: int, x: Tensor, group: int = 1) -> Tensor:
    """One integer in [low, high) per group of `group` samples, shaped (B, 1)."""
    return torch.randint(low, high, (x.size(0) // group, 1), device=x.device).repeat_interleave(group, dim=0)


def color(x: Tensor, group: int = 1) -> Tensor:
    """Random brightness, then saturation, then contrast, each with its own factor per sample (per group)."""
    x = adjust_brightness(x, _per_sample(x, group).flatten() - 0.5, clip_output=False)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_per_sample(x, group) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_per_sample(x, group) + 0.5) + mean


def translation(x: Tensor, ratio: float, group: int = 1) -> Tensor:
    """Shift each image by a random whole number of pixels on each axis, filling with zeros.

    Output pixel (i, j) reads input pixel (i + dy, j + dx), or a zero of the one-pixel padding (indices are
    clamped onto it) when that lies outside the image.
    """
    b, c, h, w = x.shape
    max_dy, max_dx = _pixels(h, ratio), _pixels(w, ratio)
    dy = _per_sample_int(-max_dy, max_dy + 1, x, group)
    dx = _per_sample_int(-max_dx, max_dx + 1, x, group)
    rows = (torch.arange(h, device=x.device) + dy + 1).clamp(0, h + 1)  # (B, H), into the padded image
    cols = (torch.arange(w, device=x.device) + dx + 1).clamp(0, w + 1)  # (B, W)
    padded = F.pad(x, (1, 1, 1, 1))
    x = padded.gather(2, rows[:, None, :, None].expand(b, c, h, w + 2))
    return x.gather(3, cols[:, None, None, :].expand(b, c, h, w))


def cutout(x: Tensor, ratio: float, group: int = 1) -> Tensor:
    """Set a square of side round(ratio * size) to 0 in each image, centred at a random pixel.

    As in the reference, the centre ranges over [0, size) for an odd side and [0, size] for an even one,
    and the part of the square outside the image is dropped.
    """
    b, _, h, w = x.shape
    side_h, side_w = _pixels(h, ratio), _pixels(w, ratio)
    centre_y = _per_sample_int(0, h + 1 - side_h % 2, x, group)
    centre_x = _per_sample_int(0, w + 1 - side_w % 2, x, group)
    top, left = centre_y - side_h // 2, centre_x - side_w // 2
    ys, xs = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    in_rows = (ys >= top) & (ys < top + side_h)  # (B, H)
    in_cols = (xs >= left) & (xs < left + side_w)  # (B, W)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])  # (B, H, W)
    return x * keep[:, None].to(x.dtype)


class DiffAugment:
    """Apply the policy's ops, in the order written, to a batch of images (B, C, H, W) in [-1, 1], or of
    clips (B, C, T, H, W), each clip's frames with the same draws.

    `policy` is a comma-separated list of "color", "translation", "cutout" (the paper's choice is all three).
    To turn augmentation off, leave the system's `augment` unset (null) rather than passing an empty policy.
    """

    def __init__(
        self,
        policy: str = "color,translation,cutout",
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
    ) -> None:
        words = [word.strip() for word in policy.split(",")] if isinstance(policy, str) else [policy]
        unknown = [word for word in words if word not in POLICY_WORDS]
        if unknown:
            raise ConfigError(
                f"augment.policy={policy!r}: unknown {unknown}; use a comma-separated list of "
                f"{', '.join(POLICY_WORDS)} (or augment=null for no augmentation)"
            )
        if not 0 <= translation_ratio <= 1:
            raise ConfigError(
                f"augment.translation_ratio={translation_ratio}: use a fraction of the image size in [0, 1]"
            )
        if not 0 <= cutout_ratio <= 1:
            raise ConfigError(
                f"augment.cutout_ratio={cutout_ratio}: use a fraction of the image size in [0, 1]"
            )
        self.policy, self.words = policy, words
        self.translation_ratio, self.cutout_ratio = float(translation_ratio), float(cutout_ratio)

    def __call__(self, x: Tensor) -> Tensor:
        """The augmented batch, same shape as `x`; differentiable with respect to `x`."""
        if x.dim() == 5:  # clips: every frame, grouped by clip
            b, c, t, h, w = x.shape
            frames = self.augment(x.transpose(1, 2).reshape(b * t, c, h, w), group=t)
            return frames.view(b, t, c, h, w).transpose(1, 2)
        if x.dim() != 4:
            raise ConfigError(
                f"augment: DiffAugment needs images (B, C, H, W) or clips (B, C, T, H, W), got shape "
                f"{tuple(x.shape)}; set augment=null for this data"
            )
        return self.augment(x)

    def augment(self, x: Tensor, group: int = 1) -> Tensor:
        """The policy's ops on images (B, C, H, W), `group` consecutive images sharing each draw."""
        for word in self.words:
            if word == "color":
                x = color(x, group)
            elif word == "translation":
                x = translation(x, self.translation_ratio, group)
            else:
                x = cutout(x, self.cutout_ratio, group)
        return x

    def __repr__(self) -> str:
        return (
            f"DiffAugment(policy={self.policy!r}, translation_ratio={self.translation_ratio:g}, "
            f"cutout_ratio={self.cutout_ratio:g})"
        )
