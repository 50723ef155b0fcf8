"""`python -m gan_lab.generate ckpt=PATH n=64 out=PATH`: samples from a checkpoint's generator.

`format=grid` writes one PNG (8 per row; a scatter plot for 2D data), `format=files` one PNG per sample
(`points.csv` for 2D data). The same `seed` gives the same samples. A conditional generator takes `labels`:
`all` (the default: sample i is of class i % num_classes, one class per grid column), one class, or a list
of classes repeated in turn (one per column).
"""

from pathlib import Path

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torchvision.utils import save_image

from gan_lab.checkpoint import load_nets, pick_device, read_checkpoint
from gan_lab.config import config_dir
from gan_lab.errors import ConfigError, reported_as_one_line
from gan_lab.samples import grid_width, save_samples

FORMATS = ("grid", "files")


@torch.inference_mode()
def sample(
    generator: torch.nn.Module,
    nz: int,
    n: int,
    seed: int,
    batch_size: int,
    device: torch.device,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """`n` samples from seeded noise (and `labels`, for a conditional generator), in batches, on the CPU."""
    noise = torch.randn(n, nz, generator=torch.Generator().manual_seed(seed))
    if labels is None:
        return torch.cat([generator(z.to(device)).float().cpu() for z in noise.split(batch_size)])
    batches = zip(noise.split(batch_size), labels.split(batch_size), strict=True)
    return torch.cat([generator(z.to(device), y.to(device)).float().cpu() for z, y in batches])


def requested_labels(labels, n: int, num_classes: int) -> tuple[torch.Tensor | None, int]:
    """The label of each of `n` samples, and the grid width that puts one class per column."""
    if not num_classes:
        if labels is not None:
            raise ConfigError(f"labels={labels}: this generator is unconditional; drop labels.")
        return None, 8
    if labels is None or labels == "all":
        return torch.arange(n) % num_classes, grid_width(num_classes)
    classes = [labels] if isinstance(labels, int) else list(labels)
    if not classes or not all(isinstance(c, int) and 0 <= c < num_classes for c in classes):
        raise ConfigError(
            f"labels={labels}: use all, a class in 0..{num_classes - 1}, or a list of them, e.g. labels=[0,3]."
        )
    return torch.tensor(classes).repeat(n // len(classes) + 1)[:n], len(classes) if len(classes) > 1 else 8


def generate(cfg: DictConfig) -> Path:
    """Write `cfg.n` samples of the checkpoint's generator to `cfg.out`; return that path."""
    if cfg.format not in FORMATS:
        raise ConfigError(f"format={cfg.format!r}: use grid or files.")
    if not (isinstance(cfg.n, int) and cfg.n > 0):
        raise ConfigError(f"n={cfg.n!r}: use a positive number of samples.")
    checkpoint, run = read_checkpoint(cfg.ckpt)
    datamodule = instantiate(run.dataset)
    nets = load_nets(checkpoint, run, datamodule.data_shape)
    labels, width = requested_labels(cfg.labels, cfg.n, nets.num_classes)
    device = pick_device(cfg.device)
    samples = sample(nets.generator.to(device), nets.nz, cfg.n, cfg.seed, cfg.batch_size, device, labels)
    out = Path(cfg.out)
    points = len(datamodule.data_shape) == 1
    if cfg.format == "grid":
        real = datamodule.real_samples(2500) if points else torch.empty(0)  # 2D: plotted over the real data
        save_samples(samples, real, out, title=f"{cfg.n} samples, seed {cfg.seed}", nrow=width)
    else:
        out.mkdir(parents=True, exist_ok=True)
        if points:
            lines = ["x,y", *(f"{x:.6f},{y:.6f}" for x, y in samples.tolist())]
            (out / "points.csv").write_text("\n".join(lines) + "\n")
        else:
            for i, image in enumerate(samples):
                name = f"{i:06d}.png" if labels is None else f"{i:06d}_class{labels[i]}.png"
                save_image(image, out / name, normalize=True, value_range=(-1, 1))
    print(f"{cfg.n} samples from {cfg.ckpt} (step {checkpoint['gan_lab']['steps_done']}) written to {out}")
    return out


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="generate")
def main(cfg: DictConfig) -> None:
    with reported_as_one_line("gan_lab.generate"):
        generate(cfg)


if __name__ == "__main__":
    main()
