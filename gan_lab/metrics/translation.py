"""Scores of unpaired translation, per direction (a2b, b2a), on the test images of the source domain:

- realism: FID and KID x 100 (unbiased, as U-GAT-IT's Table 3 reports it) between the translated images and
  the target domain's real test images, in a feature space (the bundled faces encoder, or Inception's);
- target-domain accuracy: the share of translations a domain classifier (two classes: 0 = A, 1 = B,
  trained on real images only) reads as the target domain;
- content preservation: the cycle L1 |F(G(x)) - x|, and PSNR and SSIM between each input and its translation;
- for domains that are one CelebA attribute's two values: the flip rate (the share of translations an
  attribute classifier reads with the target value) and the agreement on the other attributes.

Baselines translate too, and are scored the same way: `Identity` (the input itself), `HistogramMatching`
(colours matched to a random target image, scikit-image) and `NearestNeighbour` (the target-domain training
image nearest in the feature space).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from skimage.exposure import match_histograms
from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from gan_lab.metrics.features import Extractor
from gan_lab.metrics.scores import frechet_distance, kernel_distance
from gan_lab.systems.translation import DIRECTIONS

TARGET_DOMAIN = {"a2b": 1, "b2a": 0}  # the domain classifier's class of each direction's target
BASELINES = ("identity", "histogram", "nearest")
LOWER_IS_BETTER = ("cycle_l1",)
PIXEL_RANGE = 2.0  # images are in [-1, 1]


def translation_metric_names(extractor: str, domains: bool, attribute: bool) -> list[str]:
    """Every name a translation evaluation reports, for each direction."""
    names = [f"fid_{extractor}", f"kid100_{extractor}", "cycle_l1", "psnr", "ssim"]
    names += ["domain_accuracy"] if domains else []
    names += ["attribute_flip", "attribute_agreement"] if attribute else []
    return [f"{name}_{direction}" for direction in DIRECTIONS for name in names]


@dataclass
class AttributeTask:
    """Domains that are one attribute's two values: its column in the attribute classifier's outputs and its
    value (1 or -1) in each domain."""

    column: int
    value_a: int
    value_b: int

    def target(self, direction: str) -> bool:
        """Whether the attribute is present in the direction's target domain."""
        return (self.value_b if direction == "a2b" else self.value_a) > 0


def direction_scores(
    direction: str,
    inputs: Tensor,
    outputs: Tensor,
    reconstructed: Tensor,
    real_target: Tensor,
    extractor: Extractor,
    domains: Callable[[Tensor], Tensor] | None = None,
    attributes: Callable[[Tensor], Tensor] | None = None,
    task: AttributeTask | None = None,
    batch_size: int = 500,
) -> dict[str, float]:
    """The scores of one direction: `outputs` = G(`inputs`), `reconstructed` = F(G(inputs)), against the
    target domain's real test images' features `real_target`. `domains` and `attributes` map images to logits
    (domain classes; one logit per attribute)."""
    inputs, outputs, reconstructed = inputs.float(), outputs.float(), reconstructed.float()
    fake = batched(lambda x: extractor(x.to(_device(extractor)))[0], outputs, batch_size)
    kid, _ = kernel_distance(real_target, fake)
    scores = {
        f"fid_{extractor.name}": frechet_distance(real_target, fake),
        f"kid100_{extractor.name}": 100 * kid,
        "cycle_l1": (reconstructed - inputs).abs().mean().item(),
        # The mean of each image's PSNR (an identical image: inf), and of each image's SSIM.
        "psnr": peak_signal_noise_ratio(outputs, inputs, data_range=PIXEL_RANGE, dim=(1, 2, 3)).item(),
        "ssim": structural_similarity_index_measure(outputs, inputs, data_range=PIXEL_RANGE).item(),
    }
    if domains is not None:
        read = batched(domains, outputs, batch_size).argmax(1)
        scores["domain_accuracy"] = (read == TARGET_DOMAIN[direction]).float().mean().item()
    if attributes is not None and task is not None:
        before, after = (batched(attributes, x, batch_size) > 0 for x in (inputs, outputs))
        scores["attribute_flip"] = (after[:, task.column] == task.target(direction)).float().mean().item()
        others = [c for c in range(before.shape[1]) if c != task.column]
        scores["attribute_agreement"] = (before[:, others] == after[:, others]).float().mean().item()
    return {f"{name}_{direction}": value for name, value in scores.items()}


def batched(read: Callable[[Tensor], Tensor], images: Tensor, batch_size: int) -> Tensor:
    """`read` of `images`, `batch_size` at a time, on the CPU."""
    return torch.cat([read(part).cpu() for part in images.split(batch_size)])


def _device(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device


class Identity:
    """The baseline that changes nothing: perfect content, no translation."""

    def translate(self, images: Tensor, direction: str) -> Tensor:
        return images.clone()


class HistogramMatching:
    """Each image's colour histograms matched, channel by channel, to those of a random training image of the
    target domain (scikit-image's `match_histograms`): a colour-only change."""

    def __init__(self, train_a: Tensor, train_b: Tensor, seed: int) -> None:
        self.targets = {"a2b": train_b, "b2a": train_a}
        self.seed = seed

    def translate(self, images: Tensor, direction: str) -> Tensor:
        targets = self.targets[direction]
        picks = torch.randint(
            len(targets), (len(images),), generator=torch.Generator().manual_seed(self.seed)
        )
        matched = [
            match_histograms(image.numpy(), targets[pick].numpy(), channel_axis=0)
            for image, pick in zip(images.float(), picks, strict=True)
        ]
        return torch.from_numpy(np.stack(matched)).float()


class NearestNeighbour:
    """The training image of the target domain nearest to each input in `extractor`'s feature space:
    a real image of the target domain, chosen for its likeness."""

    def __init__(self, train_a: Tensor, train_b: Tensor, extractor: Extractor, batch_size: int = 256) -> None:
        self.extractor, self.batch_size = extractor, batch_size
        self.images = {"a2b": train_b, "b2a": train_a}
        self.features = {direction: self._features(images) for direction, images in self.images.items()}

    def _features(self, images: Tensor) -> Tensor:
        device = _device(self.extractor)
        return batched(lambda x: self.extractor(x.to(device))[0], images, self.batch_size)

    def translate(self, images: Tensor, direction: str) -> Tensor:
        nearest = torch.cdist(self._features(images), self.features[direction]).argmin(1)
        return self.images[direction][nearest].clone()
