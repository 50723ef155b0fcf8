"""Weight initialisation schemes."""

from torch import nn


def init_dcgan_weights(module: nn.Module) -> None:
    """N(0, 0.02) for conv and linear weights, N(1, 0.02) for batch-norm scales (Radford et al. 2015)."""
    if isinstance(module, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm3d | nn.BatchNorm2d | nn.BatchNorm1d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
