"""`python -m gan_lab.generate ckpt=PATH n=64 out=PATH`: samples from a checkpoint's generator.

`format=grid` writes one PNG (8 per row; a scatter plot for 2D data), `format=files` one PNG per sample
(`points.csv` for 2D data). The same `seed` gives the same samples.
"""

from pathlib import Path

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torchvision.utils import save_image

from gan_lab.checkpoint import load_generator, pick_device, read_checkpoint
from gan_lab.config import config_dir
from gan_lab.errors import ConfigError, reported_as_one_line
from gan_lab.samples import save_samples

FORMATS = ("grid", "files")


@torch.inference_mode()
def sample(generator: torch.nn.Module, nz: int, n: int, seed: int, batch_size: int, device) -> torch.Tensor:
    """`n` samples from seeded noise, generated in batches, on the CPU."""
    noise = torch.randn(n, nz, generator=torch.Generator().manual_seed(seed))
    return torch.cat([generator(z.to(device)).float().cpu() for z in noise.split(batch_size)])


def generate(cfg: DictConfig) -> Path:
    """Write `cfg.n` samples of the checkpoint's generator to `cfg.out`; return that path."""
    if cfg.format not in FORMATS:
        raise ConfigError(f"format={cfg.format!r}: use grid or files.")
    if not (isinstance(cfg.n, int) and cfg.n > 0):
        raise ConfigError(f"n={cfg.n!r}: use a positive number of samples.")
    checkpoint, run = read_checkpoint(cfg.ckpt)
    datamodule = instantiate(run.dataset)
    generator, nz = load_generator(checkpoint, run, datamodule.data_shape)
    device = pick_device(cfg.device)
    samples = sample(generator.to(device), nz, cfg.n, cfg.seed, cfg.batch_size, device)
    out = Path(cfg.out)
    points = len(datamodule.data_shape) == 1
    if cfg.format == "grid":
        real = datamodule.real_samples(2500) if points else torch.empty(0)  # 2D: plotted over the real data
        save_samples(samples, real, out, title=f"{cfg.n} samples, seed {cfg.seed}")
    else:
        out.mkdir(parents=True, exist_ok=True)
        if points:
            lines = ["x,y", *(f"{x:.6f},{y:.6f}" for x, y in samples.tolist())]
            (out / "points.csv").write_text("\n".join(lines) + "\n")
        else:
            for i, image in enumerate(samples):
                save_image(image, out / f"{i:06d}.png", normalize=True, value_range=(-1, 1))
    print(f"{cfg.n} samples from {cfg.ckpt} (step {checkpoint['gan_lab']['steps_done']}) written to {out}")
    return out


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="generate")
def main(cfg: DictConfig) -> None:
    with reported_as_one_line("gan_lab.generate"):
        generate(cfg)


if __name__ == "__main__":
    main()
