"""The fills a GAN inpainting has to beat: the known pixels' mean colour, and classical inpainting.

Classical inpainting is OpenCV's Telea (fast marching, Telea 2004) when opencv is installed (the optional
`inpaint` extra), else nearest-neighbour diffusion. Each returns images in [-1, 1] whose known pixels are the
input's, unchanged.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

TELEA_RADIUS = 3  # pixels around each hole pixel that Telea's weighted average reaches (OpenCV's example: 3)


def mean_fill(images: Tensor, known: Tensor) -> Tensor:
    """Every hole pixel set to the mean of its image's known pixels, channel by channel."""
    mean = (images * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True)
    return torch.where(known, images, mean)


def classical_fill(images: Tensor, known: Tensor) -> tuple[Tensor, str]:
    """Telea's inpainting when `import cv2` works, else diffusion; and which of the two ran."""
    try:
        import cv2  # noqa: F401
    except ImportError:
        return diffusion_fill(images, known), "diffusion"
    return telea_fill(images, known), "telea"


def telea_fill(images: Tensor, known: Tensor) -> Tensor:
    """OpenCV's `cv2.inpaint(..., cv2.INPAINT_TELEA)`, image by image, on 8-bit copies of the images."""
    import cv2

    filled = []
    for image, keep in zip(images, known, strict=True):
        pixels = ((image + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
        hole = (~keep[0]).to(torch.uint8).numpy()  # nonzero: the pixels to inpaint
        out = cv2.inpaint(np.ascontiguousarray(pixels), hole, TELEA_RADIUS, cv2.INPAINT_TELEA)
        filled.append(torch.from_numpy(out).reshape(pixels.shape).permute(2, 0, 1).float() / 127.5 - 1)
    return torch.where(known, images, torch.stack(filled))


def diffusion_fill(
    images: Tensor, known: Tensor, tolerance: float = 1e-4, max_sweeps: int = 10_000
) -> Tensor:
    """Nearest-neighbour diffusion: each sweep sets every hole pixel to the mean of its known or already
    filled 4-neighbours, so the fill grows inward ring by ring. Once all are filled, the same sweep is a
    Jacobi step of Laplace's equation, repeated until no pixel moves by `tolerance`: the smoothest (harmonic)
    fill, which continues a linear ramp exactly instead of keeping the ring-by-ring pull toward the rim."""
    n, c, h, w = images.shape
    keep = known.expand(n, c, h, w).reshape(n * c, 1, h, w)
    values = (images.reshape(n * c, 1, h, w) * keep).float()  # hole pixels are 0 until filled
    filled = keep.float()
    neighbours = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3).to(values)
    for _ in range(max_sweeps):
        total = F.conv2d(values, neighbours, padding=1)
        count = F.conv2d(filled, neighbours, padding=1)  # outside the image counts as unfilled
        update = ~keep & (count > 0)
        new = torch.where(update, total / count.clamp(min=1), values)
        settled = bool(filled.all()) and (new - values).abs().max() < tolerance
        values, filled = new, torch.maximum(filled, update.float())
        if settled:
            break
    return torch.where(known, images, values.reshape(n, c, h, w).to(images.dtype))
