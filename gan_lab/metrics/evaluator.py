"""Evaluate a generator as `metrics` (the config group) says: samples in, named numbers out."""

import hashlib
import json
import logging
from collections.abc import Callable, Iterable

import torch
from omegaconf import DictConfig
from torch import Tensor
from torch.utils.data import DataLoader, Subset

from gan_lab.config import cache_dir
from gan_lab.data import DataModule
from gan_lab.errors import ConfigError
from gan_lab.metrics.features import Extractor, file_digest, load_classifier, load_extractors
from gan_lab.metrics.modes import OUTPUTS as MODE_OUTPUTS
from gan_lab.metrics.modes import mixture_modes, stacked_mnist_modes
from gan_lab.metrics.scores import IMAGE_METRICS, image_metric_names, image_scores

log = logging.getLogger(__name__)

METRICS = (*IMAGE_METRICS, "modes", "stacked_modes")
LOWER_IS_BETTER = ("fid", "kid", "kl")  # metric name prefixes; the rest (is, precision, recall, modes) rise


def lower_is_better(metric: str) -> bool:
    return metric.startswith(LOWER_IS_BETTER)


class Evaluator:
    """Scores `num_samples` generated samples against the dataset, the same way every time.

    The noise is fixed by `seed`, and metric randomness (KID subsets, IS splits) runs in a forked RNG, so an
    evaluation never changes the training run it is part of. Real-data features are computed once per dataset,
    split, size, sample count and extractor weights, and cached on disk.
    """

    def __init__(
        self, metrics: DictConfig, datamodule: DataModule, num_samples: int, batch_size: int, seed: int
    ):
        unknown = sorted(set(metrics.names) - set(METRICS))
        if unknown:
            raise ConfigError(f"metrics.names has {unknown}: choose from {', '.join(METRICS)}.")
        self.names, self.cfg, self.datamodule = list(metrics.names), metrics, datamodule
        self.num_samples, self.batch_size, self.seed = num_samples, batch_size, seed
        self._check_dataset()
        wants_images = any(name in IMAGE_METRICS for name in self.names)
        self.extractors: list[Extractor] = (
            load_extractors(
                list(metrics.features),
                metrics.classifier,
                metrics.inception_weights,
                metrics.inception_download,
            )
            if wants_images
            else []
        )
        self.digit_classifier = load_classifier(metrics.classifier) if "stacked_modes" in self.names else None
        self._real: dict[str, Tensor] = {}

    def produces(self) -> list[str]:
        """The metric names an evaluation returns, given the extractors that are available."""
        names = [out for name in self.names for out in MODE_OUTPUTS.get(name, ())]
        for extractor in self.extractors:
            names += [
                out
                for name in self.names
                if name in IMAGE_METRICS
                for out in image_metric_names(name, extractor.name)
            ]
        return names

    def _check_dataset(self) -> None:
        images = len(self.datamodule.data_shape) == 3
        needs = {
            "modes": (
                hasattr(self.datamodule, "means"),
                "a 2D mixture (dataset=gaussian_grid or gaussian_ring)",
            ),
            "stacked_modes": (getattr(self.datamodule, "stacked", False), "dataset=stacked_mnist"),
            **{name: (images, "an image dataset") for name in IMAGE_METRICS},
        }
        for name in self.names:
            ok, what = needs[name]
            if not ok:
                raise ConfigError(
                    f"metrics.names has {name!r}, which needs {what}; dataset {self.datamodule.name} is not. "
                    "Use the dataset's own metric set (drop the override) or pick one from conf/metrics/."
                )

    def __call__(
        self, generate: Callable[[Tensor], Tensor], nz: int, device: torch.device
    ) -> dict[str, float]:
        """Metrics of `generate` (noise -> samples in the dataset's shape) on seeded noise."""
        noise = torch.randn(self.num_samples, nz, generator=torch.Generator().manual_seed(self.seed))
        return self.score((generate(z.to(device)) for z in noise.split(self.batch_size)), device)

    @torch.inference_mode()
    def score(self, batches: Iterable[Tensor], device: torch.device) -> dict[str, float]:
        """Metrics of the samples in `batches` (each on `device`), by name."""
        for extractor in self.extractors:
            extractor.to(device)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.seed)  # KID subsets and IS splits: the same every evaluation
            batches = (batch.float() for batch in batches)
            if "modes" in self.names:
                points = torch.cat([b.cpu() for b in batches])
                return mixture_modes(points, self.datamodule.means, self.datamodule.std)
            if "stacked_modes" in self.names:
                return stacked_mnist_modes(torch.cat([self._classify_channels(b).cpu() for b in batches]))
            return self._image_scores(batches)

    def _image_scores(self, batches: Iterable[Tensor]) -> dict[str, float]:
        fake = {e.name: ([], []) for e in self.extractors}
        for batch in batches:
            for extractor in self.extractors:
                features, logits = extractor(batch)
                fake[extractor.name][0].append(features.cpu())
                fake[extractor.name][1].append(logits.cpu())
        names = [n for n in self.names if n in IMAGE_METRICS]
        scores: dict[str, float] = {}
        for extractor in self.extractors:
            features, logits = (torch.cat(parts) for parts in fake[extractor.name])
            real = self.real_features(extractor)
            scores.update(image_scores(names, real, features, logits, extractor.name, self.cfg.pr_k))
        return scores

    def _classify_channels(self, images: Tensor) -> Tensor:
        """Digit of each channel of each image, shape (N, channels)."""
        net = self.digit_classifier.to(images.device)
        flat = images.reshape(-1, 1, *images.shape[2:])
        return net(flat)[1].argmax(dim=1).view(len(images), -1)

    def real_features(self, extractor: Extractor) -> Tensor:
        """Features of up to `num_samples` real images (a seeded random subset of `metrics.real_split`)."""
        if extractor.name not in self._real:
            self._real[extractor.name] = self._cached(extractor)
        return self._real[extractor.name]

    def _cached(self, extractor: Extractor) -> Tensor:
        dm, split = self.datamodule, self.cfg.real_split
        key = {
            "dataset": type(dm).__name__,
            "root": str(dm.root.resolve()) if dm.root is not None else None,
            "split": split,
            "shape": list(dm.data_shape),
            "num_samples": self.num_samples,
            "seed": self.seed,
            "extractor": extractor.name,
            "weights": file_digest(extractor.weights),
        }
        name = json.dumps(key, sort_keys=True)
        path = (
            cache_dir()
            / "real_features"
            / f"{extractor.name}-{hashlib.sha1(name.encode()).hexdigest()[:16]}.pt"
        )
        if path.is_file():
            cached = torch.load(path, weights_only=True)
            if cached["key"] == name:
                return cached["features"]
        features = self._extract_real(extractor)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        torch.save({"key": name, "features": features}, partial)
        partial.replace(path)
        return features

    def _extract_real(self, extractor: Extractor) -> Tensor:
        dataset = self.datamodule.load(self.cfg.real_split)
        n = min(self.num_samples, len(dataset))
        log.info("computing %s features of %d real images (cached for next time)", extractor.name, n)
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(self.seed))[:n]
        loader = DataLoader(
            Subset(dataset, order.tolist()),
            batch_size=self.batch_size,
            num_workers=self.datamodule.num_workers,
        )
        device = next(extractor.parameters()).device
        with torch.inference_mode():
            return torch.cat([extractor(images.to(device))[0].cpu() for images, _ in loader])


def describe(scores: dict[str, float]) -> str:
    """One line: `fid_classifier 12.3 | is_classifier 8.91 | ...` (std values left out)."""
    return " | ".join(f"{k} {v:.4g}" for k, v in scores.items() if not k.endswith("_std"))
