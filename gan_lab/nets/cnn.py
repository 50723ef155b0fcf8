"""A small supervised CNN: the classifier baseline, and the domain feature extractor for metrics."""

from torch import Tensor, nn

from gan_lab.errors import ConfigError


class CNNClassifier(nn.Module):
    """Two conv blocks and an MLP head. `features(x)` is the penultimate layer, for FID-style metrics."""

    def __init__(
        self, data_shape: tuple[int, ...], num_classes: int | None, width: int = 32, feature_dim: int = 128
    ):
        super().__init__()
        if not num_classes:
            raise ConfigError("model=cnn_classifier needs a labelled dataset (mnist, fashion_mnist, ...).")
        channels, height, width_px = data_shape
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(True),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(True),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.25),
            nn.Linear(2 * width * (height // 4) * (width_px // 4), feature_dim),
            nn.ReLU(True),
        )
        self.head = nn.Sequential(nn.Dropout(0.5), nn.Linear(feature_dim, num_classes))

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
