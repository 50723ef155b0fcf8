"""`python -m gan_lab.cli.inpaint ckpt=PATH image=PATH|dataset mask=center|random|PATH out=PATH`: fill the
holes of images with a GAN's generator by semantic inpainting (Yeh et al. 2017, "Semantic Image Inpainting
with Deep Generative Models"), next to a mean-colour fill and classical inpainting.

The search is for the latent code z whose G(z) agrees with the known pixels and looks real to D:

    loss(z) = || W * (G(z) - y) ||_1  +  prior_weight * -log D(G(z))

The context loss weighs each known pixel by the fraction of hole in the `window` x `window` square around it
(the paper's W): pixels at the hole's rim, which the fill must continue, count most, and pixels far from the
hole say nothing about it and count 0. The paper writes the prior loss as log(1 - D(G(z))); we minimise
-log D(G(z)) from D's logits, the non-saturating loss our generators train with: it pulls the same way, but
its gradient does not vanish where D confidently rejects G(z).

z is optimised with Adam from `restarts` random starts per image, and the start with the lowest final loss is
kept. After every step z is scaled back onto the sphere of radius sqrt(nz): our generators are trained on
z ~ N(0, I), whose norms concentrate there (10 +- 0.7 for nz = 100), so that shell is where G has learned to
make realistic images, and an unconstrained z drifts off it. (The paper clamps z to [-1, 1]: the same idea
for its uniform z.)

Blending is a plain paste of the known pixels over G(z), not the paper's Poisson blending (which keeps G's
gradients in the hole but shifts its values to meet the rim): the hole is exactly the generator's fill, so the
scores measure the generator rather than a blend of it with a smooth interpolation; and it needs no OpenCV.

Unconditional generators only: a class-conditional one is refused rather than optimised per guessed label.
"""

import functools
import json
import time
from pathlib import Path

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict
from PIL import Image
from rich.console import Console
from rich.table import Table
from torch import Tensor
from torchvision.utils import save_image

from gan_lab.data import DataModule
from gan_lab.data.images import IMAGE_EXTENSIONS, image_transform, list_images
from gan_lab.errors import ConfigError, DataError, reported_as_one_line
from gan_lab.nets import latent_noise
from gan_lab.paths import config_dir
from gan_lab.studies.inpainting.baselines import classical_fill, mean_fill
from gan_lab.studies.inpainting.masks import make_mask
from gan_lab.studies.inpainting.scores import summary
from gan_lab.studies.inpainting.semantic import semantic_inpaint
from gan_lab.systems import load_system, pick_device, read_checkpoint, steps_of


def file_images(path: Path, data_shape: tuple[int, ...]) -> Tensor:
    """An image file, or every image in a folder, in [-1, 1]; each must already be the generator's size and
    mode (resizing would change what the known pixels say)."""
    if not path.exists():
        raise DataError(f"image={path}: no such file or folder. Pass an image, a folder of them, or dataset.")
    files = list_images(path) if path.is_dir() else [path]
    if not files:
        raise DataError(f"image={path}: the folder holds no {', '.join(sorted(IMAGE_EXTENSIONS))} files.")
    channels, size, _ = data_shape
    mode = "L" if channels == 1 else "RGB"
    kind = "grayscale (1 channel)" if channels == 1 else "RGB (3 channels)"
    images = []
    for file in files:
        with Image.open(file) as image:
            if image.size != (size, size) or image.mode != mode:
                raise ConfigError(
                    f"image={file} is a {image.size[0]}x{image.size[1]} {image.mode} image, but this "
                    f"generator makes {size}x{size} {kind} images. Convert it first, e.g. in Python: "
                    f"Image.open(path).convert({mode!r}).resize(({size}, {size})).save(new_path)."
                )
            images.append(image_transform(size, channels)(image))
    return torch.stack(images)


def held_out_images(datamodule: DataModule, n: int) -> Tensor:
    """The first `n` held-out test images of the checkpoint's dataset."""
    try:
        test = datamodule.load("test")
    except DataError as error:
        raise DataError(f"image=dataset: {error} Or pass image=PATH (files or a folder).") from error
    return torch.stack([test[i][0] for i in range(min(n, len(test)))])


def check_settings(cfg: DictConfig) -> None:
    for key in ("n", "show", "steps", "restarts", "batch_size", "window"):
        if not (isinstance(cfg[key], int) and cfg[key] > 0):
            raise ConfigError(f"{key}={cfg[key]!r}: use a positive integer.")
    if cfg.window % 2 == 0:
        raise ConfigError(f"window={cfg.window}: use an odd side, centred on its pixel (e.g. 7).")
    if Path(cfg.out).suffix.lower() != ".png":
        raise ConfigError(f"out={cfg.out}: name a .png file for the picture grid, e.g. out=inpaint.png.")
    if not cfg.lr > 0 or not cfg.prior_weight >= 0:
        raise ConfigError(f"lr={cfg.lr}, prior_weight={cfg.prior_weight}: use lr > 0 and prior_weight >= 0.")


def inpaint(cfg: DictConfig) -> dict | None:
    """Inpaint `cfg.image` and write the picture grid to `cfg.out`; for image=dataset also score the three
    fills and write and return the record (`cfg.out` with .json)."""
    check_settings(cfg)
    checkpoint, run = read_checkpoint(cfg.ckpt)
    if cfg.dataset.root is not None:
        with open_dict(run):
            run.dataset.root = cfg.dataset.root
    datamodule: DataModule = instantiate(run.dataset)
    system = load_system(checkpoint, run, datamodule.data_shape)
    if not system.generative:
        raise ConfigError(
            f"ckpt={cfg.ckpt} is not a GAN (a {type(system).__name__}): use a GAN's checkpoint."
        )
    if cfg.raw_generator:
        system.sample_with_ema = False
    if len(datamodule.data_shape) != 3:
        raise ConfigError(f"ckpt={cfg.ckpt} makes {datamodule.name} points, not images: use an image GAN.")
    if system.num_classes:
        raise ConfigError(
            f"ckpt={cfg.ckpt} is a class-conditional generator ({system.num_classes} classes): "
            "gan_lab.cli.inpaint handles unconditional generators only. Use a run without labels, e.g. "
            "experiment=dcgan_mnist."
        )
    dataset = cfg.image == "dataset"
    shape = datamodule.data_shape
    images = held_out_images(datamodule, cfg.n) if dataset else file_images(Path(cfg.image), shape)
    size = shape[1]
    known = make_mask(str(cfg.mask), len(images), size, cfg.center_side, cfg.random_missing, cfg.seed)

    start = time.perf_counter()
    mean, (classical, method) = mean_fill(images, known), classical_fill(images, known)
    device = pick_device(cfg.device)
    nz = system.nz
    noise = latent_noise(len(images) * cfg.restarts, nz, cfg.seed).view(len(images), cfg.restarts, nz)
    system.to(device)
    search = functools.partial(
        semantic_inpaint,
        system.sampler,  # the EMA of G when the run has one
        system.networks["discriminator"],
        steps=cfg.steps,
        lr=cfg.lr,
        prior_weight=cfg.prior_weight,
        window=cfg.window,
    )
    gan, history = [], torch.zeros(cfg.steps)
    for chunk in range(0, len(images), cfg.batch_size):
        part = slice(chunk, chunk + cfg.batch_size)
        filled, losses = search(images[part].to(device), known[part].to(device), noise[part].to(device))
        gan.append(filled.cpu())
        history += losses * len(filled) / len(images)
        print(f"inpainted {min(chunk + cfg.batch_size, len(images))}/{len(images)}: loss {losses[-1]:.3f}")
    gan = torch.cat(gan)
    seconds = time.perf_counter() - start

    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    masked = torch.where(known, images, 0.0)  # the hole shown as mid-grey
    rows = [fills[: cfg.show] for fills in (images, masked, mean, classical, gan)]
    save_image(torch.cat(rows), out, nrow=len(rows[0]), normalize=True, value_range=(-1, 1), pad_value=1)
    print(f"rows: original, masked, mean fill, {method}, GAN; written to {out}")
    if not dataset:
        return None
    record = {
        "checkpoint": str(Path(cfg.ckpt).resolve()),
        "step": steps_of(checkpoint),
        "images": f"the first {len(images)} {datamodule.name} test images",
        "mask": str(cfg.mask),
        "hole_fraction": 1 - known.float().mean().item(),
        "settings": {k: cfg[k] for k in ("steps", "restarts", "lr", "prior_weight", "window", "seed")},
        "loss": {"first_step": history[0].item(), "last_step": history[-1].item()},
        "seconds": round(seconds, 1),
        "scores": {
            "mean_fill": summary(mean, images, known),
            method: summary(classical, images, known),
            "gan": summary(gan, images, known),
        },
    }
    path = out.with_suffix(".json")
    path.write_text(json.dumps(record, indent=2) + "\n")
    print_table(record, path)
    return record


def print_table(record: dict, path: Path) -> None:
    table = Table(title=f"{record['images']}, mask={record['mask']}, over the hole")
    for column in ("fill", "PSNR (dB)", "SSIM"):
        table.add_column(column, justify="left" if column == "fill" else "right")
    for name, s in record["scores"].items():
        psnr, ssim = f"{s['psnr']:.2f} ± {s['psnr_std']:.2f}", f"{s['ssim']:.3f} ± {s['ssim_std']:.3f}"
        table.add_row(name, psnr, ssim)
    console = Console()
    console.print(table)
    console.print(f"written to {path}")


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="inpaint")
def main(cfg: DictConfig) -> None:
    with reported_as_one_line("gan_lab.cli.inpaint"):
        inpaint(cfg)


if __name__ == "__main__":
    main()
