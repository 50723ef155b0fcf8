"""`python -m gan_lab.translate ckpt=PATH image=PATH|dataset direction=a2b|b2a out=PATH`: images of one
domain translated into the other by a translation run's generator (system=cyclegan).

`image` is one image file (OUT is the image to write: .png, .jpg, .webp or .bmp), a folder of images (OUT
is a folder: one PNG per image, at the image's path inside the folder) or `dataset`: the test split of the
run's source domain (OUT a folder of 000000.png, ...). A folder or the test split also gets OUT/pairs.png:
the first inputs above their translations. Images must have the run's channels and size, unless
`resize=true` converts, resizes and centre-crops them as training did. Everything is checked before the
first image is translated.
"""

from pathlib import Path

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image, UnidentifiedImageError
from torchvision.utils import save_image

from gan_lab.data.images import image_transform, list_images
from gan_lab.errors import ConfigError, DataError, reported_as_one_line
from gan_lab.paths import config_dir
from gan_lab.systems import load_system, pick_device, read_checkpoint, steps_of
from gan_lab.systems.translation import DIRECTIONS
from gan_lab.viz.grids import save_samples

PAIRS_SHOWN = 32  # inputs (with their translations) in pairs.png


def translate(cfg: DictConfig) -> Path:
    """Do what `cfg` says; return the path written."""
    if cfg.direction not in DIRECTIONS:
        raise ConfigError(f"direction={cfg.direction!r}: use a2b (A to B) or b2a (B to A).")
    checkpoint, run = read_checkpoint(cfg.ckpt)
    datamodule = instantiate(run.dataset)
    system = load_system(checkpoint, run, datamodule.data_shape).to(pick_device(cfg.device))
    if not system.translates:
        raise ConfigError(
            f"ckpt={cfg.ckpt!r} is a {run.experiment_name} run, not a translation run: translate takes a "
            "checkpoint of system=cyclegan (experiment=cyclegan_selfie2anime, cyclegan_smiling)."
        )
    image, out = Path(str(cfg.image)).expanduser(), Path(str(cfg.out)).expanduser()
    one_file = str(cfg.image) != "dataset" and image.is_file()
    if one_file and out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".bmp"):
        raise ConfigError(f"out={cfg.out!r}: name the image to write, e.g. out=translated.png.")
    if str(cfg.image) == "dataset":
        images = datamodule.domain(cfg.direction[0]).load("test")  # a2b: A's test split
        inputs, names = torch.stack([images[i][0] for i in range(len(images))]), None
    else:
        files = _image_files(image)
        inputs = torch.stack([_read(f, datamodule.data_shape, cfg.resize) for f in files])
        names = [f.relative_to(image).with_suffix(".png") for f in files] if image.is_dir() else None
    outputs = system.translate(inputs, cfg.direction)
    images = f"{len(inputs)} image{'s' if len(inputs) != 1 else ''}"
    what = f"{images} translated {cfg.direction} by {cfg.ckpt} (step {steps_of(checkpoint)})"
    if one_file:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_image(outputs[0], out, normalize=True, value_range=(-1, 1))
        print(f"{what} written to {out}")
        return out
    out.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(outputs):
        path = out / (names[i] if names else f"{i:06d}.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(image, path, normalize=True, value_range=(-1, 1))
    save_pairs(inputs[:PAIRS_SHOWN], outputs[:PAIRS_SHOWN], out / "pairs.png")
    print(f"{what} written to {out} (inputs above translations: {out / 'pairs.png'})")
    return out


def save_pairs(inputs: torch.Tensor, outputs: torch.Tensor, path: Path, width: int = 8) -> Path:
    """Rows of `width` inputs, each row above the row of their translations."""
    rows = [part for start in range(0, len(inputs), width)
            for part in (inputs[start : start + width], outputs[start : start + width])]  # fmt: skip
    return save_samples(torch.cat(rows), torch.empty(0), path, nrow=min(width, len(inputs)))


def _image_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        files = list_images(path)
        if not files:
            raise DataError(f"image={str(path)!r}: the folder has no .jpg/.jpeg/.png/.webp/.bmp files.")
        return files
    raise DataError(
        f"image={str(path)!r}: no such file or folder. Pass an image, a folder, or image=dataset."
    )


def _read(path: Path, shape: tuple[int, ...], resize: bool) -> torch.Tensor:
    """The image at `path` as the run's networks take it, scaled to [-1, 1]; with `resize`, converted,
    resized and centre-cropped as training did, else refused unless its channels and size are the run's."""
    channels, height, width = shape
    try:
        with Image.open(path) as image:
            image.load()
    except (UnidentifiedImageError, OSError) as error:
        raise DataError(f"image {path} cannot be read as an image ({error}).") from None
    if not resize:
        mode = "L" if channels == 1 else "RGB"
        if image.mode != mode:
            raise DataError(
                f"image {path} is {image.mode}; this run translates {mode} images ({channels} channel"
                f"{'s' if channels > 1 else ''}). Convert it, or pass resize=true to convert as training did."
            )
        if image.size != (width, height):
            raise DataError(
                f"image {path} is {image.size[0]}x{image.size[1]}; this run translates {width}x{height} "
                "images. Resize it, or pass resize=true to resize and centre-crop as training did."
            )
    return image_transform(height, channels)(image)


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="translate")
def main(cfg: DictConfig) -> None:
    with reported_as_one_line("gan_lab.translate"):
        translate(cfg)


if __name__ == "__main__":
    main()
