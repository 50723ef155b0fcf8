"""Evaluate a generator as `metrics` (the config group) says: samples in, named numbers out."""

import hashlib
import json
import logging
import os
import pickle
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from omegaconf import DictConfig
from torch import Tensor
from torch.utils.data import DataLoader, Subset

from gan_lab.data import DataModule
from gan_lab.errors import ConfigError
from gan_lab.metrics.features import (
    ClassifierExtractor,
    Extractor,
    file_digest,
    load_classifier,
    load_extractors,
)
from gan_lab.metrics.modes import OUTPUTS as MODE_OUTPUTS
from gan_lab.metrics.modes import mixture_modes, stacked_mnist_modes
from gan_lab.metrics.scores import IMAGE_METRICS, image_metric_names, image_scores
from gan_lab.metrics.translation import DIRECTIONS as TRANSLATION_DIRECTIONS
from gan_lab.metrics.translation import LOWER_IS_BETTER as TRANSLATION_LOWER_IS_BETTER
from gan_lab.metrics.translation import AttributeTask, batched, direction_scores, translation_metric_names
from gan_lab.metrics.video import LOWER_IS_BETTER as VIDEO_LOWER_IS_BETTER
from gan_lab.metrics.video import VIDEO_OUTPUTS, ClipSummary, summarize, video_scores
from gan_lab.paths import cache_dir

log = logging.getLogger(__name__)

METRICS = (*IMAGE_METRICS, "modes", "stacked_modes", "conditional_accuracy", "video", "translation")
# Metric name prefixes; the rest (is, precision, recall, modes, consistency, entropy, accuracy) rise.
LOWER_IS_BETTER = ("fid", "kid", "kl", *VIDEO_LOWER_IS_BETTER, *TRANSLATION_LOWER_IS_BETTER)
Batches = Iterable[tuple[Tensor, Tensor | None]]  # samples, and the labels they were asked for (or None)


def lower_is_better(metric: str) -> bool:
    return metric.startswith(LOWER_IS_BETTER)


@contextmanager
def own_rng(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Run a block with RNGs seeded by `seed`, then put the caller's RNG states back (training goes on as if
    the block never ran)."""
    accelerator = device is not None and device.type != "cpu"
    devices = [device] if accelerator else []
    with torch.random.fork_rng(devices=devices, device_type=device.type if accelerator else "cuda"):
        torch.manual_seed(seed)
        yield


def real_batches(
    datamodule: DataModule, split: str, n: int, batch_size: int, seed: int
) -> Iterator[tuple[Tensor, Tensor]]:
    """Up to `n` real samples of `split` with their labels, a random subset fixed by `seed`, in batches."""
    dataset = datamodule.load(split)
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n]
    loader = DataLoader(
        Subset(dataset, order.tolist()),
        batch_size=batch_size,
        num_workers=datamodule.num_workers,
        generator=torch.Generator().manual_seed(seed),  # else iterating draws a seed from the global RNG
    )
    yield from loader


class Evaluator:
    """Scores `num_samples` generated samples against the dataset, the same way every time.

    The noise is fixed by `seed`; network building and metric randomness (KID subsets, IS splits) run on
    their own RNG, so setting up or running an evaluation never changes the training run it is part of.
    Real-data features are computed once per dataset, split, size, sample count and extractor weights, and
    cached on disk. A `conditional` generator is asked for every class in turn (balanced labels), and
    `conditional_accuracy` is the share of samples that `metrics.classifier` puts in the class they were asked
    for.
    """

    def __init__(
        self,
        metrics: DictConfig,
        datamodule: DataModule,
        num_samples: int,
        batch_size: int,
        seed: int,
        conditional: bool = False,
    ):
        unknown = sorted(set(metrics.names) - set(METRICS))
        if unknown:
            raise ConfigError(f"metrics.names has {unknown}: choose from {', '.join(METRICS)}.")
        self.names, self.cfg, self.datamodule = list(metrics.names), metrics, datamodule
        self.num_samples, self.batch_size, self.seed = num_samples, batch_size, seed
        self.num_classes = datamodule.num_classes if conditional else 0
        self.image_names = [name for name in self.names if name in IMAGE_METRICS]
        featured = self.image_names + [name for name in self.names if name == "translation"]
        if featured and not metrics.features:
            raise ConfigError(
                f"metrics.names has {featured} but metrics.features is empty: name the feature "
                "extractors, e.g. metrics.features=[inception] or [classifier]."
            )
        with own_rng(seed):  # building networks draws random initial weights
            self.extractors: list[Extractor] = (
                load_extractors(
                    list(metrics.features),
                    metrics.classifier,
                    metrics.inception_weights,
                    metrics.inception_download,
                    metrics.get("encoder"),
                )
                if featured
                else []
            )
            needs_classifier = {"stacked_modes", "conditional_accuracy", "video"} & set(self.names)
            # Translation reads the domain of its outputs with metrics.classifier when there is one.
            needs_classifier = needs_classifier or ("translation" in self.names and metrics.classifier)
            self.classifier = load_classifier(metrics.classifier) if needs_classifier else None
            attributes = metrics.get("attribute_classifier") if "translation" in self.names else None
            self.attribute_classifier = load_classifier(attributes) if attributes else None
        self._check_dataset()
        self._real: dict[str, Tensor] = {}
        self._real_clips: ClipSummary | None = None
        self._test_images: dict[str, Tensor] = {}

    def produces(self) -> list[str]:
        """The metric names an evaluation returns, given the extractors that are available."""
        names = [out for name in self.names for out in MODE_OUTPUTS.get(name, ())]
        if "video" in self.names:
            names += list(VIDEO_OUTPUTS)
        if "translation" in self.names:
            task = self.attribute_task() is not None
            for extractor in self.extractors:
                names += translation_metric_names(extractor.name, self.classifier is not None, task)
            names = list(dict.fromkeys(names))  # the content scores are the same whatever the extractor
        if "conditional_accuracy" in self.names and self.num_classes:  # unconditional runs have no labels
            names.append("conditional_accuracy")
        for extractor in self.extractors:
            names += [
                out for name in self.scored_by(extractor) for out in image_metric_names(name, extractor.name)
            ]
        return names

    def scored_by(self, extractor: Extractor) -> list[str]:
        """The image metrics `extractor` can give: IS needs class logits, which an encoder has not."""
        return [name for name in self.image_names if extractor.has_logits or name != "is"]

    def _check_dataset(self) -> None:
        shape = self.datamodule.data_shape
        needs = {
            "modes": (
                hasattr(self.datamodule, "means"),
                "a 2D mixture (dataset=gaussian_grid or gaussian_ring)",
            ),
            "stacked_modes": (getattr(self.datamodule, "stacked", False), "dataset=stacked_mnist"),
            "conditional_accuracy": (len(shape) == 3, "an image dataset"),
            "video": (len(shape) == 4, "a video dataset (dataset=moving_mnist or video_folder)"),
            "translation": (hasattr(self.datamodule, "domain"), "two domains (dataset=unpaired)"),
            **{name: (len(shape) == 3, "an image dataset") for name in IMAGE_METRICS},
        }
        for name in self.names:
            ok, what = needs[name]
            if not ok:
                raise ConfigError(
                    f"metrics.names has {name!r}, which needs {what}; dataset {self.datamodule.name} is not. "
                    "Use the dataset's own metric set (drop the override) or pick one from conf/metrics/."
                )
        for extractor in self.extractors:
            if isinstance(extractor, ClassifierExtractor):
                extractor.check_channels(shape[0])
        if "conditional_accuracy" in self.names and self.num_classes:
            self.classifier.check_channels(shape[0])
            self.classifier.check_classes(self.num_classes)
        if "video" in self.names:
            self.classifier.check_channels(shape[0])
        if "translation" in self.names and self.classifier is not None:
            needs = "domain_accuracy needs a classifier of the two domains (0 = A, 1 = B)"
            self.classifier.check_classes(2, f"{needs}, e.g. experiment=classifier_selfie_anime")
        if "translation" in self.names and self.attribute_classifier is not None and self.attribute_task():
            names = self.datamodule.domain_a.attribute_names()
            needs = "attribute_flip needs a classifier of every CelebA attribute (dataset.label=all)"
            self.attribute_classifier.check_classes(len(names), needs)

    def prepare(self) -> None:
        """Compute (or load) the real-data features now rather than at the first evaluation."""
        for extractor in self.extractors if self.image_names else []:
            self.real_features(extractor)
        if "video" in self.names:
            self.real_clips()
        if "translation" in self.names:
            for which in "ab":
                self.test_images(which)

    def __call__(self, system) -> dict[str, float]:
        """Metrics of `system`'s samples (a gan_lab system: `sample_batches`, `device`) on seeded noise; a
        conditional one is asked for every class in turn. A translation system's test translations."""
        if "translation" in self.names:
            return self.score_translation(system)
        batches = system.sample_batches(self.num_samples, self.seed, batch_size=self.batch_size)
        return self.score(batches, system.device)

    def score_translation(self, translator) -> dict[str, float]:
        """The translation metrics of `translator` (a translation system, or a baseline: anything with
        `translate(images, direction)`) on up to `num_samples` test images of each domain."""
        scores: dict[str, float] = {}
        device = getattr(translator, "device", torch.device("cpu"))
        for net in (*self.extractors, self.classifier, self.attribute_classifier):
            if net is not None:
                net.to(device)
        with own_rng(self.seed):  # KID subsets, a baseline's random picks: the same every evaluation
            for direction in TRANSLATION_DIRECTIONS:
                source, target = direction[0], direction[-1]
                inputs = self.test_images(source)
                outputs = translator.translate(inputs, direction)
                reconstructed = translator.translate(outputs, f"{target}2{source}")
                for extractor in self.extractors:
                    real = self.target_features(extractor, target)
                    scores.update(direction_scores(
                        direction, inputs, outputs, reconstructed, real, extractor,
                        self._logits(self.classifier), self._logits(self.attribute_classifier),
                        self.attribute_task(), self.batch_size,
                    ))  # fmt: skip
        return scores

    @staticmethod
    def _logits(classifier: ClassifierExtractor | None):
        if classifier is None:
            return None
        return lambda images: classifier(images.to(next(classifier.parameters()).device))[1]

    def test_images(self, which: str) -> Tensor:
        """Up to `num_samples` test images of domain `which` (a or b), a subset fixed by the seed."""
        if which not in self._test_images:
            domain = self.datamodule.domain(which)
            n = min(self.num_samples, len(domain.load("test")))
            batches = real_batches(domain, "test", n, self.batch_size, self.seed)
            self._test_images[which] = torch.cat([images for images, _ in batches])
        return self._test_images[which]

    def target_features(self, extractor: Extractor, which: str) -> Tensor:
        """`extractor`'s features of the test images of domain `which`: what translations into it are
        compared with."""
        key = f"{extractor.name}/{which}"
        if key not in self._real:
            device = next(extractor.parameters()).device
            with torch.inference_mode():
                read = lambda images: extractor(images.to(device))[0]  # noqa: E731
                self._real[key] = batched(read, self.test_images(which), self.batch_size)
        return self._real[key]

    def attribute_task(self) -> AttributeTask | None:
        """When the two domains are one CelebA attribute's two values and an attribute classifier is set:
        that attribute's column and values."""
        a, b = self.datamodule.domain_a, self.datamodule.domain_b
        attribute = getattr(a, "attribute", None)
        if (
            self.attribute_classifier is None
            or attribute is None
            or getattr(b, "attribute", None) != attribute
        ):
            return None
        return AttributeTask(a.attribute_names().index(attribute), a.attribute_value, b.attribute_value)

    @torch.inference_mode()
    def score(self, batches: Batches, device: torch.device) -> dict[str, float]:
        """Metrics of the samples in `batches` (each on `device`), by name. Batches are seen once each."""
        for extractor in self.extractors:
            extractor.to(device)
        if "video" in self.names:
            self.classifier.to(device)
        points, digits, hits, clips = [], [], [], []
        features = {e.name: ([], []) for e in self.extractors}  # fake features and logits, per extractor
        with own_rng(self.seed, device):  # KID subsets and IS splits: the same every evaluation
            for batch, labels in batches:
                batch = batch.float()
                if "modes" in self.names:
                    points.append(batch.cpu())
                if "stacked_modes" in self.names:
                    digits.append(self._classify_channels(batch).cpu())
                if "video" in self.names:
                    clips.append(batch.cpu())
                if "conditional_accuracy" in self.names and self.num_classes:
                    predicted = self.classifier.to(batch.device)(batch)[1].argmax(dim=1).cpu()
                    hits.append(predicted == labels.cpu())
                for extractor in self.extractors:
                    for store, values in zip(features[extractor.name], extractor(batch), strict=True):
                        store.append(values.cpu())
            scores: dict[str, float] = {}
            if points:
                scores.update(mixture_modes(torch.cat(points), self.datamodule.means, self.datamodule.std))
            if digits:
                scores.update(stacked_mnist_modes(torch.cat(digits)))
            if hits:
                scores["conditional_accuracy"] = torch.cat(hits).float().mean().item()
            if clips:
                scores.update(self.score_clips(torch.cat(clips)))
            for extractor in self.extractors:
                fake, logits = (torch.cat(parts) for parts in features[extractor.name])
                real = self.real_features(extractor)
                names, pr_k = self.scored_by(extractor), self.cfg.pr_k
                scores.update(image_scores(names, real, fake, logits, extractor.name, pr_k))
            return scores

    def _classify_channels(self, images: Tensor) -> Tensor:
        """Digit of each channel of each image, shape (N, channels)."""
        net = self.classifier.to(images.device)
        flat = images.reshape(-1, 1, *images.shape[2:])
        return net(flat)[1].argmax(dim=1).view(len(images), -1)

    def score_clips(self, clips: Tensor) -> dict[str, float]:
        """The video metrics of `clips` (N, C, T, H, W) against the real clips: generated clips, or a
        baseline (real test clips, a static clip, shuffled frames)."""
        return video_scores(summarize(clips, self.classifier), self.real_clips(), self.cfg.pr_k)

    def real_clips(self) -> ClipSummary:
        """The `ClipSummary` of up to `num_samples` real clips of `metrics.real_split` (a seeded subset)."""
        if self._real_clips is None:
            n = min(self.num_samples, len(self.datamodule.load(self.cfg.real_split)))
            batches = real_batches(self.datamodule, self.cfg.real_split, n, self.batch_size, self.seed)
            clips = torch.cat([c for c, _ in batches])
            self._real_clips = summarize(clips, self.classifier)
        return self._real_clips

    def real_features(self, extractor: Extractor) -> Tensor:
        """Features of up to `num_samples` real images (a seeded random subset of `metrics.real_split`)."""
        if extractor.name not in self._real:
            self._real[extractor.name] = self._cached(extractor)
        return self._real[extractor.name]

    def _cached(self, extractor: Extractor) -> Tensor:
        dm = self.datamodule
        key = json.dumps(
            {
                "dataset": type(dm).__name__,
                "root": str(dm.root.resolve()) if dm.root is not None else None,
                "dataset_seed": dm.seed,  # what Stacked MNIST and the 2D mixtures draw depends on it
                "dataset_size": getattr(dm, "num_samples", None),
                "split": self.cfg.real_split,
                "shape": list(dm.data_shape),
                "num_samples": self.num_samples,
                "seed": self.seed,
                "extractor": extractor.name,
                "weights": file_digest(extractor.weights),
                "space": extractor.space,  # the same weights can give other features (a new layer, a norm)
            },
            sort_keys=True,
        )
        path = (
            cache_dir()
            / "real_features"
            / f"{extractor.name}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.pt"
        )
        try:
            cached = torch.load(path, weights_only=True)
            if cached["key"] == key:
                return cached["features"]
        except (FileNotFoundError, RuntimeError, KeyError, EOFError, pickle.UnpicklingError):
            pass  # absent, unreadable, or more than tensors (never unpickled): compute it again, overwrite it
        features = self._extract_real(extractor)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")  # parallel jobs write their own
        torch.save({"key": key, "features": features}, partial)
        os.replace(partial, path)
        return features

    def _extract_real(self, extractor: Extractor) -> Tensor:
        n = min(self.num_samples, len(self.datamodule.load(self.cfg.real_split)))
        log.info("computing %s features of %d real samples (cached for next time)", extractor.name, n)
        device = next(extractor.parameters()).device
        batches = real_batches(self.datamodule, self.cfg.real_split, n, self.batch_size, self.seed)
        with torch.inference_mode():
            return torch.cat([extractor(images.to(device))[0].cpu() for images, _ in batches])


def describe(scores: dict[str, float]) -> str:
    """One line: `fid_classifier 12.3 | is_classifier 8.91 | ...` (std values left out)."""
    return " | ".join(f"{k} {v:.4g}" for k, v in scores.items() if not k.endswith("_std"))
