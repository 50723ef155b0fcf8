"""What image-to-image translation adds to the adversarial loss: the cycle and identity L1 terms of CycleGAN
(Zhu et al. 2017), and the pool of past fakes its discriminators learn from (Shrivastava et al. 2017)."""

import torch
from torch import Tensor, nn


def cycle_loss(real: Tensor, reconstructed: Tensor) -> Tensor:
    """|F(G(x)) - x|, the mean absolute error over every pixel: translating there and back returns x."""
    return (reconstructed.float() - real.float()).abs().mean()


def identity_loss(real: Tensor, mapped: Tensor) -> Tensor:
    """|G(y) - y| for y already of G's target domain: G leaves it alone (keeps colours, Zhu et al. §5.2)."""
    return (mapped.float() - real.float()).abs().mean()


class ImagePool(nn.Module):
    """The last `size` generated images, which D sees in place of the newest ones half of the time.

    For each image of a batch: while the pool is filling, the image goes in and is returned as it is; once
    full, with probability 1/2 a random stored image is returned and the new one takes its place, else the
    new image is returned. Draws come from torch's global RNG, whose state checkpoints save; the stored
    images are buffers, so a resumed run has the pool it had. size=0: no pool.
    """

    def __init__(self, size: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def query(self, fakes: Tensor) -> Tensor:
        """The images D is shown for this batch of `fakes` (detached)."""
        fakes = fakes.detach()
        if self.size == 0:
            return fakes
        shown = []
        for image in fakes:
            filled = int(self.count)
            if filled < self.size:
                self.images[filled] = image
                self.count += 1
                shown.append(image)
            elif torch.rand(()) < 0.5:
                slot = int(torch.randint(self.size, ()))
                shown.append(self.images[slot].clone().to(image.dtype))
                self.images[slot] = image
            else:
                shown.append(image)
        return torch.stack(shown)
