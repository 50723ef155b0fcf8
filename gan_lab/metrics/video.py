"""Offline metrics of generated clips (metrics=video), for Moving MNIST and data like it.

FVD needs I3D weights, which are not offline, and it mostly measures per-frame quality. These metrics read
clips with a *judge*, a multi-label digit classifier gan_lab trains on single frames (experiment=
judge_moving_mnist), and with pixel statistics for motion. Each is a function of a `ClipSummary`, the
per-frame facts of a set of clips, so that generated clips, real test clips and the baselines (a static
clip, shuffled frames) are scored by the same code:

- `fid_frames`, `kid_frames`: FID and KID of single frames in the judge's feature space.
- `fd_clip_stats`: a Fréchet distance between the per-clip mean, standard deviation and mean absolute
  change over time of the judge's features (not the published FVD: no I3D, no pretrained video features).
- `identity_consistency`: the share of clips whose per-frame digit reading (the judge's yes/no per digit)
  is the same in every frame. Digits occlude each other, so real clips set the ceiling.
- `acd`: MoCoGAN's average content distance: the mean L2 distance between the judge's features of
  consecutive frames, averaged over clips (lower: the content holds).
- `pair_entropy`: the entropy, in bits, of the clip-level digit readings (each clip read as the digits
  read in at least half of its frames): diversity of content.
- `speed_w1`: the Wasserstein-1 distance between the speed distributions (pixels per frame at 64 px, of
  each frame's intensity centroid) of generated and real clips.
- `acceleration`: the median change of speed of the centroid, pixels per frame² at 64 px (smoothness).
- `frozen_share`: the share of clips whose frames stop changing (mean absolute change between consecutive
  frames below FROZEN of the [0, 1] intensity range).
- `looping_share`: the share of clips that come back to their first frame in their second half (closer to
  it than LOOP times their frames are on average).
"""

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from gan_lab.metrics.features import ClassifierExtractor
from gan_lab.metrics.scores import frechet_distance, image_scores

FROZEN = (
    0.002  # mean absolute change per pixel and frame, on [0, 1] intensities, below which a clip is frozen
)
LOOP = 0.25  # a clip loops when a frame of its second half is this close to its first, relative to the rest
CANVAS = 64  # speeds are given in pixels at Moving MNIST's 64 px, whatever size the clips are scored at
VIDEO_OUTPUTS = ("fid_frames", "kid_frames", "kid_frames_std", "fd_clip_stats", "identity_consistency", "acd",
                 "pair_entropy", "speed_w1", "acceleration", "frozen_share", "looping_share")  # fmt: skip
LOWER_IS_BETTER = ("fd_clip_stats", "acd", "speed_w1", "frozen_share", "looping_share")


@dataclass
class ClipSummary:
    """The per-frame facts the metrics need, for N clips of T frames."""

    features: Tensor  # (N, T, D): the judge's features of each frame
    readings: Tensor  # (N, T, 10) bool: the digits the judge reads in each frame
    centroids: Tensor  # (N, T, 2): each frame's intensity centroid, in pixels at 64 px
    change: Tensor  # (N,): mean absolute change between consecutive frames, [0, 1] intensities
    loops: Tensor  # (N,) bool: whether the clip comes back to its first frame


@torch.inference_mode()
def summarize(clips: Tensor, judge: ClassifierExtractor, batch_size: int = 1024) -> ClipSummary:
    """The `ClipSummary` of clips (N, C, T, H, W) in [-1, 1]; the judge reads `batch_size` frames at once."""
    n, _, t, h, w = clips.shape
    frames = clips.transpose(1, 2).flatten(0, 1).float()  # (N T, C, H, W)
    device = next(judge.parameters()).device
    read = [judge(part.to(device)) for part in frames.split(batch_size)]
    features, logits = (torch.cat([r[i].cpu() for r in read]) for i in (0, 1))
    ink = ((clips.float() + 1) / 2).mean(dim=1)  # (N, T, H, W) in [0, 1]
    return ClipSummary(
        features=features.view(n, t, -1),
        readings=(logits > 0).view(n, t, -1),
        centroids=centroids(ink) * (CANVAS / w),
        change=(ink[:, 1:] - ink[:, :-1]).abs().mean(dim=(1, 2, 3)),
        loops=loops(ink),
    )


def centroids(ink: Tensor) -> Tensor:
    """(N, T, H, W) intensities -> (N, T, 2) the (x, y) intensity centroid of each frame, in pixels; the frame
    centre when a frame is blank."""
    _, _, h, w = ink.shape
    mass = ink.sum(dim=(2, 3)).clamp_min(1e-8)
    x = (ink.sum(dim=2) * torch.arange(w, dtype=ink.dtype)).sum(-1) / mass
    y = (ink.sum(dim=3) * torch.arange(h, dtype=ink.dtype)).sum(-1) / mass
    blank = ink.sum(dim=(2, 3)) < 1e-6
    return torch.stack([x.masked_fill(blank, (w - 1) / 2), y.masked_fill(blank, (h - 1) / 2)], dim=-1)


def loops(ink: Tensor) -> Tensor:
    """(N, T, H, W) -> (N,) bool: a frame of the second half is within LOOP of the first frame, relative to
    the mean distance of all later frames from it. Frozen clips (all distances ~0) do not count."""
    t = ink.shape[1]
    distance = (ink[:, 1:] - ink[:, :1]).abs().mean(dim=(2, 3))  # (N, T - 1): frame 1.. to frame 0
    typical = distance.mean(dim=1)
    late = distance[:, t // 2 - 1 :].min(dim=1).values
    return (late < LOOP * typical) & (typical > FROZEN)


def clip_statistics(summary: ClipSummary) -> Tensor:
    """(N, 3D): each clip's mean, standard deviation and mean absolute change of its frames' features."""
    f = summary.features
    return torch.cat([f.mean(1), f.std(1), (f[:, 1:] - f[:, :-1]).abs().mean(1)], dim=1)


def identity_consistency(summary: ClipSummary) -> float:
    same = (summary.readings == summary.readings[:, :1]).all(dim=2).all(dim=1)
    return same.float().mean().item()


def average_content_distance(summary: ClipSummary) -> float:
    f = summary.features
    return (f[:, 1:] - f[:, :-1]).norm(dim=2).mean().item()


def pair_entropy(summary: ClipSummary) -> float:
    """Entropy (bits) of the clip-level readings: the set of digits read in at least half a clip's frames."""
    clip_level = summary.readings.float().mean(dim=1) >= 0.5  # (N, 10)
    codes = (clip_level.long() * (2 ** torch.arange(10))).sum(dim=1)
    counts = torch.unique(codes, return_counts=True)[1].float()
    p = counts / counts.sum()
    return float(-(p * p.log2()).sum()) + 0.0  # + 0.0: one reading gives 0, not -0


def speeds(summary: ClipSummary) -> Tensor:
    return (summary.centroids[:, 1:] - summary.centroids[:, :-1]).norm(dim=2)  # (N, T - 1)


def wasserstein_1(a: Tensor, b: Tensor, quantiles: int = 1000) -> float:
    """W1 between two 1D samples: the mean gap between their quantile functions."""
    q = torch.linspace(0, 1, quantiles, dtype=torch.float64)
    return (torch.quantile(a.double(), q) - torch.quantile(b.double(), q)).abs().mean().item()


def video_scores(fake: ClipSummary, real: ClipSummary, pr_k: int = 3) -> dict[str, float]:
    """Every VIDEO_OUTPUTS metric of `fake` clips against `real` ones."""
    real_frames, fake_frames = real.features.flatten(0, 1), fake.features.flatten(0, 1)
    no_logits = fake_frames.new_zeros(len(fake_frames), 0)
    scores = image_scores(["fid", "kid"], real_frames, fake_frames, no_logits, "frames", pr_k)
    fake_speeds = speeds(fake)
    acceleration = fake_speeds[:, 1:] - fake_speeds[:, :-1]
    scores |= {
        "fd_clip_stats": frechet_distance(clip_statistics(real), clip_statistics(fake)),
        "identity_consistency": identity_consistency(fake),
        "acd": average_content_distance(fake),
        "pair_entropy": pair_entropy(fake),
        "speed_w1": wasserstein_1(fake_speeds.flatten(), speeds(real).flatten()),
        "acceleration": acceleration.abs().median().item() if acceleration.numel() else math.nan,
        "frozen_share": (fake.change < FROZEN).float().mean().item(),
        "looping_share": fake.loops.float().mean().item(),
    }
    return scores


def static_clips(clips: Tensor) -> Tensor:
    """The baseline that never moves: each clip's first frame, repeated."""
    return clips[:, :, :1].expand_as(clips).contiguous()


def shuffled_clips(clips: Tensor, seed: int = 0) -> Tensor:
    """The baseline whose frames are right and whose motion is not: each clip's frames in a random order."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.stack([torch.randperm(clips.shape[2], generator=generator) for _ in range(len(clips))])
    index = order[:, None, :, None, None].expand_as(clips)
    return clips.gather(2, index)
