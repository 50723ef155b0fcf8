"""A small conv encoder trained without labels (SimCLR), the feature space of the face metrics."""

import torch.nn.functional as F
from torch import Tensor, nn


def _block(cin: int, cout: int) -> list[nn.Module]:
    """conv 3x3 - BN - ReLU, then a stride-2 conv 3x3 - BN - ReLU: half the side, `cout` channels."""
    return [
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(True),
        nn.Conv2d(cout, cout, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(True),
    ]


class ConvEncoder(nn.Module):
    """Images at `input_size` (resized to it) -> `depth` halving blocks from `width` channels, doubling ->
    global average pool: `features(x)`, the representation metrics use. `forward` adds SimCLR's projection
    head (Linear-ReLU-Linear), on which the contrastive loss works; Chen et al. 2020 found the layer before
    the head the better representation, which is why metrics read `features`."""

    def __init__(
        self,
        data_shape: tuple[int, ...],
        num_classes: int | None = None,
        input_size: int = 32,
        width: int = 32,
        depth: int = 3,
        projection_dim: int = 128,
    ) -> None:
        super().__init__()
        del num_classes  # the encoder learns without labels
        layers, cin = [], data_shape[0]
        for i in range(depth):
            layers += _block(cin, width * 2**i)
            cin = width * 2**i
        self.input_size = input_size
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(cin, cin), nn.ReLU(True), nn.Linear(cin, projection_dim))

    def features(self, x: Tensor) -> Tensor:
        size = (self.input_size, self.input_size)
        if x.shape[-2:] != size:
            x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
