"""Feature extractors for image metrics. Each maps images in [-1, 1] to (features, class logits).

- `inception`: the standard InceptionV3 FID weights (torch-fidelity's `pt_inception-2015-12-05`, as
  torchmetrics uses them): 2048-d pool features and the 1008-way logits behind the Inception Score.
- `classifier`: a `cnn_classifier` trained by gan_lab (its feature layer, length-normalised, and its 10
  logits): the domain extractor for MNIST-like data, where Inception features carry little meaning.
- `encoder`: a conv encoder trained by gan_lab without labels (SimCLR, experiment=encoder_faces): its feature
  layer, length-normalised as the classifier's; no logits, so no IS. The offline feature space of the faces.
"""

import hashlib
import logging
from functools import cache
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch import Tensor, nn

from gan_lab.errors import ConfigError
from gan_lab.systems import load_system, read_checkpoint
from gan_lab.systems.checkpoint import load_weights

log = logging.getLogger(__name__)

INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
BUNDLED_CLASSIFIERS = Path(__file__).resolve().parent / "classifiers"


def file_digest(path: Path) -> str:
    """A short content hash, so cached real features follow the weights rather than the file name."""
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


class Extractor(nn.Module):
    """Base: `name` goes into metric names, `weights` is the file the extractor was built from, `space` says
    which features of those weights it returns. Cached real-data features are keyed by all three: change
    `space` whenever the features change for the same weights, or old caches would be read as new ones."""

    name: str
    weights: Path
    space: str
    has_logits = True  # class logits beside the features: what IS needs

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError


class ClassifierExtractor(Extractor):
    """A gan_lab classifier as feature extractor. Images are resized to the size it was trained on.

    Features: the penultimate layer (after its ReLU), scaled to length sqrt(dim), i.e. its direction only.
    Logits: the classifier's own, from the raw layer.
    """

    name = "classifier"
    space = "penultimate-relu-unit-length-x-sqrt-dim"
    key = "metrics.classifier"  # the setting that names the weights, for error messages
    system = "Classifier"  # the system class of the runs whose checkpoints it reads
    experiment = "classifier_mnist"  # an experiment that trains one

    def __init__(self, net: nn.Module, data_shape: tuple[int, ...], weights: Path) -> None:
        super().__init__()
        self.net, self.data_shape, self.weights = net.eval(), tuple(data_shape), weights

    def check_channels(self, channels: int) -> None:
        if channels != self.data_shape[0]:
            raise ConfigError(
                f"{self.key} ({self.weights.name}) reads {self.data_shape[0]}-channel images, the "
                f"data has {channels}: use a classifier trained on this dataset, or metrics=inception."
            )

    def check_classes(
        self,
        num_classes: int,
        needs: str = "conditional_accuracy needs a classifier trained on this dataset's labels",
    ) -> None:
        classes = self.net.head[-1].out_features
        if classes != num_classes:
            raise ConfigError(
                f"{self.key} ({self.weights.name}) tells {classes} classes apart, {num_classes} are needed: "
                f"{needs}."
            )

    def prepare(self, images: Tensor) -> Tensor:
        self.check_channels(images.shape[1])
        size = self.data_shape[1:]
        if images.shape[2:] != size:
            images = F.interpolate(images, size=size, mode="bilinear", antialias=True, align_corners=False)
        return images

    @torch.inference_mode()
    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features = self.net.features(self.prepare(images))
        return unit_length_x_sqrt_dim(features), self.logits(features)

    def logits(self, features: Tensor) -> Tensor:
        return self.net.head(features)


def unit_length_x_sqrt_dim(features: Tensor) -> Tensor:
    """Each row scaled to length sqrt(dim): the direction only, at the scale KID's kernel assumes."""
    # Length-normalised: the raw layer's length grows without bound on images unlike the training digits
    # (a 50- to 300-step DCGAN's strokes: mean length 84 to 105, real digits 56, the untrained G's flat
    # grey 58), and FID's mean term (75-81% of it) followed that length, scoring the untrained generator
    # (4,554) better than the 50- to 300-step ones (10,383 to 6,792). Unit length keeps which units fire
    # and how strongly relative to each other.
    # The sqrt(dim) scale makes the mean squared feature 1, the scale KID's kernel (x.y / dim + 1)^3
    # assumes (at length 1 it is all but linear). See experiments/classifier_space_mnist.
    return F.normalize(features, dim=1) * features.shape[1] ** 0.5


class EncoderExtractor(ClassifierExtractor):
    """A gan_lab encoder (experiment=encoder_faces) as feature extractor: its features, scaled as the
    classifier's; its projection head is a training device, not classes, so there are no logits."""

    name = "encoder"
    space = "pooled-body-unit-length-x-sqrt-dim"
    key = "metrics.encoder"
    system = "ContrastiveEncoder"
    experiment = "encoder_faces"
    has_logits = False

    def logits(self, features: Tensor) -> Tensor:
        return features.new_zeros(len(features), 0)


def classifier_path(name_or_path: str, kind: type[ClassifierExtractor] = ClassifierExtractor) -> Path:
    """A bundled network by name (`mnist`, `fashion_mnist`) or a `kind.system` run's checkpoint path."""
    bundled = BUNDLED_CLASSIFIERS / f"{name_or_path}.ckpt"
    if bundled.is_file():
        return bundled
    path = Path(name_or_path).expanduser()
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in BUNDLED_CLASSIFIERS.glob("*.ckpt")))
        raise ConfigError(
            f"{kind.key}={name_or_path!r} is neither a bundled network ({names}) nor a file: train one with "
            f"`python -m gan_lab experiment={kind.experiment}` and pass its checkpoints/last.ckpt."
        )
    return path


def load_classifier(
    name_or_path: str, kind: type[ClassifierExtractor] = ClassifierExtractor
) -> ClassifierExtractor:
    """A `kind` extractor (a classifier's, or EncoderExtractor) over the network of a `kind.system` run's
    checkpoint, rebuilt from the run's own config."""
    path = classifier_path(name_or_path, kind)
    checkpoint, run = read_checkpoint(path, key=kind.key)
    # Datasets of one kind of image set their channels themselves (Moving MNIST's frames: grayscale); a
    # domain classifier's two domains share theirs.
    images = run.dataset if "image_size" in run.dataset else run.dataset.domain_a
    channels = OmegaConf.select(images, "channels", default=1)
    data_shape = (channels, images.image_size, images.image_size)
    if not str(run.system.get("_target_", "")).endswith(f".{kind.system}"):
        raise ConfigError(
            f"{kind.key}={name_or_path!r} is not a {kind.system} run's checkpoint "
            f"(from experiment={kind.experiment})."
        )
    net = load_system(checkpoint, run, data_shape).networks["net"]
    return kind(net, data_shape, path)


class InceptionExtractor(Extractor):
    """torch-fidelity's InceptionV3 FID network (as torchmetrics uses it): pool features, unbiased logits."""

    name = "inception"
    space = "pool3-2048"

    def __init__(self, weights: Path) -> None:
        super().__init__()
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        self.weights = weights
        # torch-fidelity unpickles the file without restriction: load it weights-only first, so that a crafted
        # file is refused here instead of run there.
        load_weights(weights, key="metrics.inception_weights")
        self.net = FeatureExtractorInceptionV3(
            "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(weights)
        )

    def prepare(self, images: Tensor) -> Tensor:
        """[-1, 1] floats to the uint8 RGB the FID network expects; grayscale is repeated to 3 channels."""
        images = ((images.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images

    @torch.inference_mode()
    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features, logits = self.net(self.prepare(images))
        return features, logits


def inception_weights(configured: str | None, download: bool) -> Path | None:
    """The FID weights: `configured`, else in torch hub's cache (downloaded there when allowed), else None."""
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"metrics.inception_weights={configured!r}: no such file. Point it at "
                f"{INCEPTION_URL.rsplit('/', 1)[1]} (from {INCEPTION_URL}), or set it to null."
            )
        return path
    cached = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_URL.rsplit("/", 1)[1]
    if not cached.is_file() and download:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(INCEPTION_URL, str(cached), progress=False)
        except Exception as error:  # offline, proxy, HTTP error: all mean "not available", said once below
            log.debug("Inception download failed: %s", error)
    return cached if cached.is_file() else None


@cache
def _say_inception_missing(cached: str) -> None:
    log.warning(
        "Inception metrics skipped: the InceptionV3 FID weights (pt_inception-2015-12-05) are not in %s and "
        "could not be downloaded. Put them there (from %s) or set metrics.inception_weights=PATH. No FID is "
        "reported under other weights.",
        cached,
        INCEPTION_URL,
    )


def load_extractors(
    features: list[str],
    classifier: str | None,
    weights: str | None,
    download: bool,
    encoder: str | None = None,
) -> list[Extractor]:
    """The extractors named in `metrics.features` that are available; a missing Inception is said once."""
    extractors: list[Extractor] = []
    for name in features:
        if name == "classifier":
            if not classifier:
                raise ConfigError("metrics.features lists `classifier` but metrics.classifier is null.")
            extractors.append(load_classifier(classifier))
        elif name == "encoder":
            if not encoder:
                raise ConfigError(
                    "metrics.features lists `encoder` but metrics.encoder is null: train one with "
                    "`python -m gan_lab experiment=encoder_faces` and set metrics.encoder=its last.ckpt."
                )
            extractors.append(load_classifier(encoder, EncoderExtractor))
        elif name == "inception":
            path = inception_weights(weights, download)
            if path is None:
                _say_inception_missing(str(Path(torch.hub.get_dir()) / "checkpoints"))
            else:
                extractors.append(InceptionExtractor(path))
        else:
            raise ConfigError(f"metrics.features has {name!r}: use classifier, encoder and/or inception.")
    return extractors
