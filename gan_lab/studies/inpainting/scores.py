"""PSNR and SSIM over the hole only, per image. The known pixels of every fill are the input's, so scoring
them too would only dilute the difference between fills. Images in [-1, 1] are scored as [0, 1], the range
SSIM's stabilising constants assume (SSIM, unlike PSNR, is not shift-invariant)."""

import torch
from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

PSNR_CAP = 100.0  # dB reported for a perfect fill, whose MSE of 0 gives inf (which no mean or JSON holds)


def hole_psnr(filled: Tensor, target: Tensor, known: Tensor) -> Tensor:
    """torchmetrics' PSNR of the hole pixels (all channels) of each image, capped at PSNR_CAP."""
    scores = []
    for fill, real, keep in zip(filled, target, known, strict=True):
        hole = ~keep.expand_as(real)
        scores.append(peak_signal_noise_ratio((fill[hole] + 1) / 2, (real[hole] + 1) / 2, data_range=1.0))
    return torch.stack(scores).clamp(max=PSNR_CAP)


def hole_ssim(filled: Tensor, target: Tensor, known: Tensor) -> Tensor:
    """torchmetrics' SSIM map (11x11 Gaussian window, sigma 1.5) of each image, averaged over its hole."""
    _, ssim_map = structural_similarity_index_measure(
        (filled + 1) / 2, (target + 1) / 2, data_range=1.0, return_full_image=True
    )
    hole = (~known).expand_as(ssim_map).float()
    return (ssim_map * hole).sum((1, 2, 3)) / hole.sum((1, 2, 3))


def summary(filled: Tensor, target: Tensor, known: Tensor) -> dict[str, float]:
    """Mean and standard deviation over the images of the PSNR (dB) and SSIM over the hole."""
    psnr, ssim = hole_psnr(filled, target, known), hole_ssim(filled, target, known)
    return {
        "psnr": psnr.mean().item(),
        "psnr_std": psnr.std().item() if len(psnr) > 1 else 0.0,
        "ssim": ssim.mean().item(),
        "ssim_std": ssim.std().item() if len(ssim) > 1 else 0.0,
    }
