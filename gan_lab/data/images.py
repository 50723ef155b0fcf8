"""Image datasets: MNIST-style IDX files through torchvision, and folders of images (CelebA, anime faces).

Every image is resized, center-cropped to `image_size` and scaled to [-1, 1] with `channels` channels.
Image folders are decoded once into a cache (gan_lab.data.cache) unless `cache: false`.
"""

import functools
import gzip
import hashlib
import os
import shutil
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from pytorch_lightning.utilities import rank_zero_warn
from torch.utils.data import Dataset
from torchvision import datasets, transforms

from gan_lab.data.base import DataModule
from gan_lab.data.cache import decoded_images
from gan_lab.data.checks import KINDS, BadFile, find_bad_files
from gan_lab.errors import ConfigError, DataError
from gan_lab.paths import cache_dir

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def decode_transform(image_size: int, channels: int) -> transforms.Compose:
    """The deterministic part of the preprocessing, PIL image to PIL image: convert channels, resize the
    short side, center crop. What the decode cache stores."""
    return transforms.Compose(
        [
            functools.partial(Image.Image.convert, mode="L" if channels == 1 else "RGB"),
            transforms.Resize(image_size),
            transforms.CenterCrop(image_size),
        ]
    )


def _jitter(augment: bool) -> list:
    """The standard MNIST-classifier augmentation: rotations up to 10 degrees, shifts up to 10%."""
    return [transforms.RandomAffine(degrees=10, translate=(0.1, 0.1))] if augment else []


def image_transform(image_size: int, channels: int, augment: bool = False) -> transforms.Compose:
    """The DCGAN preprocessing: resize the short side, center crop, convert channels, scale to [-1, 1];
    `augment` jitters (`_jitter`)."""
    return transforms.Compose(
        [
            decode_transform(image_size, channels),
            *_jitter(augment),
            transforms.ToTensor(),
            transforms.Normalize([0.5] * channels, [0.5] * channels),
        ]
    )


def scale_transform(channels: int) -> transforms.Compose:
    """image_transform's last steps for pixels already decoded as uint8 tensors (C x H x W, or a batch of
    them): the same samples bit for bit, since ConvertImageDtype divides by 255 as ToTensor does."""
    return transforms.Compose(
        [
            transforms.ConvertImageDtype(torch.float32),
            transforms.Normalize([0.5] * channels, [0.5] * channels),
        ]
    )


class ImageDataModule(DataModule):
    """Images of `channels` x `image_size` x `image_size`; `augment` jitters the training split only."""

    def __init__(self, root: str, image_size: int, channels: int, augment: bool = False, **kwargs) -> None:
        super().__init__(root=root, **kwargs)
        if channels not in (1, 3):
            raise ConfigError(f"dataset.channels={channels} cannot work: use 1 (grayscale) or 3 (RGB).")
        if augment and self.on_device:
            raise ConfigError(
                "dataset.on_device=true cannot work with dataset.augment=true: the split is stored on the "
                "device once, already preprocessed, and the jitter is drawn anew for every sample. "
                "Set one of them to false."
            )
        self.image_size, self.channels, self.augment = image_size, channels, augment

    @property
    def data_shape(self) -> tuple[int, ...]:
        return (self.channels, self.image_size, self.image_size)

    def transform(self, split: str) -> transforms.Compose:
        return image_transform(self.image_size, self.channels, self.augment and split == "train")


def _unpacked_dir(root: Path) -> Path:
    digest = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:12]
    return cache_dir() / f"idx-{digest}"


def _unpack_atomically(source: Path, target: Path) -> None:
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    with gzip.open(source, "rb") as f_in, open(partial, "wb") as f_out:
        shutil.copyfileobj(f_in, f_out)
    os.replace(partial, target)  # several DDP ranks may unpack at once; each rename is atomic


class MNISTDataModule(ImageDataModule):
    """MNIST through torchvision. `root` holds torchvision's layout (`MNIST/raw/`) or the four IDX `.gz`
    files as distributed; with `download: true` an empty `root` is filled from the internet."""

    dataset_class = datasets.MNIST
    source = (
        "torchvision's mirrors, e.g. https://ossci-datasets.s3.amazonaws.com/mnist/ (dataset.download=true)"
    )

    def __init__(self, download: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.download = download

    @property
    def num_classes(self) -> int:
        return 10

    def _torchvision_root(self) -> Path:
        folder = self.dataset_class.__name__
        if (self.root / folder / "raw").is_dir():
            return self.root
        if all((self.root / f).is_file() for files in IDX_FILES.values() for f in files):
            cache = _unpacked_dir(self.root)
            for files in IDX_FILES.values():
                for f in files:
                    _unpack_atomically(self.root / f, cache / folder / "raw" / f.removesuffix(".gz"))
            return cache
        return self.root

    def _dataset(self, split: str, download: bool) -> Dataset:
        root = str(self._torchvision_root())
        try:
            return self.dataset_class(
                root, train=split == "train", download=download, transform=self.transform(split)
            )
        except RuntimeError as error:  # torchvision: "Dataset not found" or a failed download
            expected = ", ".join(f for files in IDX_FILES.values() for f in files)
            raise DataError(
                f"{self.name} not found in {self.root}: put the four IDX files ({expected}) there, "
                "or torchvision's "
                f"{self.dataset_class.__name__}/raw/ folder; get them from {self.source}. "
                f"Set dataset.root=FOLDER to point elsewhere. ({error})"
            ) from error

    def prepare_data(self) -> None:
        for split in IDX_FILES:
            self._dataset(split, self.download)

    def load(self, split: str) -> Dataset:
        return self._dataset(split, download=False)


class FashionMNISTDataModule(MNISTDataModule):
    dataset_class = datasets.FashionMNIST
    source = "https://github.com/zalandoresearch/fashion-mnist (or torchvision, with dataset.download=true)"


class ImageFiles(Dataset):
    """Every image file under a folder (recursive), in sorted order. Targets come from `targets` or are 0."""

    def __init__(self, files: list[Path], transform, targets: torch.Tensor | None = None) -> None:
        self.files, self.transform, self.targets = files, transform, targets

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int):
        with Image.open(self.files[index]) as image:
            sample = self.transform(image)
        return sample, self._target(index)

    def _target(self, index: int):
        return self.targets[index] if self.targets is not None else 0


class CachedImageFiles(ImageFiles):
    """ImageFiles whose images were decoded once into `array` (see gan_lab.data.cache), the N x C x H x W
    uint8 result of `decode_transform`: items are read from the memory-mapped array and only scaled.

    `augment` jitters the uint8 pixels before scaling: the same random draws as ImageFiles makes on the PIL
    image, not always exactly the same pixels.
    """

    def __init__(
        self,
        files: list[Path],
        array: Path,
        channels: int,
        augment: bool,
        targets: torch.Tensor | None = None,
    ) -> None:
        super().__init__(files, scale_transform(channels), targets)
        self.array, self.jitter, self._pixels = array, transforms.Compose(_jitter(augment)), None

    def __getstate__(self) -> dict:
        # Worker processes map the file themselves rather than receive a pickled copy of every pixel.
        return {**self.__dict__, "_pixels": None}

    def __getitems__(self, indices: list[int]) -> list[tuple]:
        """A batch at once, as the DataLoader asks for it: one read of the map and one scaling for the lot
        (per-image transforms cost more in overhead than in arithmetic at these sizes)."""
        if self._pixels is None:
            self._pixels = np.load(self.array, mmap_mode="r")
        pixels = torch.from_numpy(self._pixels[indices])  # indexing with a list copies out of the map
        if self.jitter.transforms:  # drawn image by image, as ImageFiles draws them
            pixels = torch.stack([self.jitter(p) for p in pixels])
        return list(zip(self.transform(pixels).unbind(), map(self._target, indices), strict=True))

    def __getitem__(self, index: int):
        return self.__getitems__([index])[0]


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())


class ImageFolderDataModule(ImageDataModule):
    """Any folder of jpg/png/webp/bmp images, searched recursively; mixed sizes and modes are fine.

    Every image is checked once at setup (see gan_lab.data.checks): empty, unreadable, truncated, too large
    (more than `max_pixels`) or unconvertible files stop the run naming the first one (`on_bad_file: error`),
    or are left out with one warning (`skip`). Other files (a README.txt) are ignored.

    With `cache` (the default), the good images are decoded, converted, resized and cropped once into a
    memory-mapped uint8 array (gan_lab.data.cache); every later epoch and run reads pixels from there.
    """

    source = "any folder of images"

    def __init__(
        self,
        on_bad_file: str = "error",
        max_pixels: int = Image.MAX_IMAGE_PIXELS,
        cache: bool = True,
        test_share: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= test_share < 1.0:
            raise ConfigError(
                f"dataset.test_share={test_share}: use the share of images held out as the test split, "
                "from 0 (none: every image trains) to below 1, e.g. 0.1."
            )
        self.test_share = test_share
        if on_bad_file not in ("error", "skip"):
            raise ConfigError(
                f"dataset.on_bad_file={on_bad_file!r} cannot work: use error (stop at the first bad image "
                "file) or skip (leave bad files out, with a warning)."
            )
        # Above Pillow's limit the loader itself would refuse the image (DecompressionBombError) mid-training.
        limit = Image.MAX_IMAGE_PIXELS or max_pixels
        if not isinstance(max_pixels, int) or not 0 < max_pixels <= limit:
            raise ConfigError(
                f"dataset.max_pixels={max_pixels!r} cannot work: use a positive integer up to {limit} "
                "(Pillow's decompression-bomb limit)."
            )
        self.on_bad_file, self.max_pixels, self.cache = on_bad_file, max_pixels, cache

    def image_dir(self) -> Path:
        return self.root

    def load(self, split: str) -> Dataset:
        if split not in ("train", "test") or (split == "test" and not self.test_share):
            raise DataError(
                f"{self.name} has only a training split: there is no '{split}' set in {self.root}. "
                "Set dataset.test_share=0.1 to hold out a tenth of the images as a test split."
            )
        folder = self.image_dir()
        files = list_images(folder) if folder.is_dir() else []
        if not files:
            state = "has no image files" if folder.is_dir() else "does not exist"
            raise DataError(
                f"{self.name}: {folder} {state}. Expected {', '.join(sorted(IMAGE_EXTENSIONS))} files "
                f"(from {self.source}); set dataset.root=FOLDER to point at them."
            )
        files = self.selected(files)
        if self.test_share:
            held_out = self.held_out(folder, files)
            files = [f for f, test in zip(files, held_out, strict=True) if test == (split == "test")]
            if not files:
                raise DataError(
                    f"{self.name}: dataset.test_share={self.test_share} leaves the {split} split of {folder} "
                    "empty; use more images or another share."
                )
        files = self._without_bad_files(folder, files)
        if self.cache:
            settings = f"{'L' if self.channels == 1 else 'RGB'} resize {self.image_size} center-crop"
            decode = decode_transform(self.image_size, self.channels)
            array = decoded_images(
                folder, files, decode, self.data_shape, settings, self.num_workers, self.subset(split)
            )
            if array is not None:
                return CachedImageFiles(files, array, self.channels, self.augment and split == "train")
        return ImageFiles(files, self.transform(split))

    def selected(self, files: list[Path]) -> list[Path]:
        """The images this dataset uses: all of them (CelebA filters by attribute)."""
        return files

    def subset(self, split: str) -> str:
        """Which of the folder's images `split` holds, in words: its decode cache is its own."""
        return f"{type(self).__name__} {split} of test_share={self.test_share}" if self.test_share else ""

    def held_out(self, folder: Path, files: list[Path]) -> list[bool]:
        """Whether each file is in the test split: a hash of its path in the folder, so the split is the same
        in every run and for every seed, and a new file does not move the others."""
        return [_in_share(str(f.relative_to(folder)), self.test_share) for f in files]

    def _without_bad_files(self, folder: Path, files: list[Path]) -> list[Path]:
        bad = find_bad_files(folder, files, "L" if self.channels == 1 else "RGB", self.max_pixels)
        if not bad:
            return files
        if self.on_bad_file == "error":
            more = f"; {len(bad) - 1} more of the {len(files)} files are bad too" if len(bad) > 1 else ""
            raise DataError(
                f"{self.name}: bad image file {bad[0]}{more}. Remove it, or set dataset.on_bad_file=skip "
                "to train without the bad files."
            )
        if len(bad) == len(files):
            raise DataError(f"{self.name}: all {len(files)} image files in {folder} are bad, e.g. {bad[0]}.")
        rank_zero_warn(_skipped_summary(self.name, folder, bad, len(files)))
        dropped = {b.path for b in bad}
        return [f for f in files if f not in dropped]


def _skipped_summary(name: str, folder: Path, bad: list[BadFile], total: int, shown: int = 3) -> str:
    counts = {kind: sum(b.kind == kind for b in bad) for kind in KINDS}
    kinds = ", ".join(f"{n} {KINDS[kind]}" for kind, n in counts.items() if n)
    examples = "; ".join(f"{b.path.relative_to(folder)} ({b.detail})" for b in bad[:shown])
    return (
        f"{name}: skipped {len(bad)} bad image files of {total} in {folder} (dataset.on_bad_file=skip): "
        f"{kinds}. First: {examples}{'; ...' if len(bad) > shown else ''}"
    )


class AnimeDataModule(ImageFolderDataModule):
    source = "the Kaggle 'Anime Face Dataset' (a flat folder of 64x64 JPEGs)"


class CelebADataModule(ImageFolderDataModule):
    """Aligned CelebA: `root/img_align_celeba/*.jpg` (or `root` itself holding the JPEGs).

    Only the images are required. With `label` set to one of the 40 attributes of `root/list_attr_celeba.txt`
    (e.g. Male, Smiling), each sample's target is that attribute as 0/1: a 2-class labelled dataset for
    conditional models; `label: all` makes it the 40 attributes as a multi-hot vector (the attribute
    classifier of the translation metrics). Without it, targets are 0.

    `attribute` keeps only the images whose attribute of that name is `attribute_value` (Smiling and 1:
    smiling faces; -1: not smiling). With `test_share`, the test split holds whole identities
    (`root/identity_CelebA.txt`), so no person is in both splits.
    """

    source = "CelebA's 'Align&Cropped Images' (img_align_celeba.zip), https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"

    def __init__(
        self, label: str | None = None, attribute: str | None = None, attribute_value: int = 1, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        if attribute_value not in (1, -1):
            raise ConfigError(
                f"dataset.attribute_value={attribute_value}: CelebA attributes are 1 (present) or -1 "
                "(absent)."
            )
        self.label, self.attribute, self.attribute_value = label, attribute, attribute_value

    @property
    def num_classes(self) -> int | None:
        if self.label == "all":
            return len(self.attribute_names())
        return 2 if self.label else None

    def attribute_names(self) -> list[str]:
        """The attributes of list_attr_celeba.txt, in its column order (that of `label: all` targets)."""
        return _attribute_table(self._attribute_file("label"))[0]

    def image_dir(self) -> Path:
        nested = self.root / "img_align_celeba"
        return nested if nested.is_dir() else self.root

    def load(self, split: str) -> Dataset:
        dataset = super().load(split)
        if self.label == "all":
            dataset.targets = torch.tensor(self._attribute_rows(dataset.files), dtype=torch.float) > 0
            dataset.targets = dataset.targets.float()
        elif self.label:
            dataset.targets = torch.tensor(
                [value > 0 for value in self._attribute(self.label, dataset.files, "label")], dtype=torch.long
            )
        return dataset

    def selected(self, files: list[Path]) -> list[Path]:
        if self.attribute is None:
            return files
        values = self._attribute(self.attribute, files, "attribute")
        files = [f for f, value in zip(files, values, strict=True) if value == self.attribute_value]
        if not files:
            raise DataError(
                f"{self.name}: no image in {self.image_dir()} has {self.attribute}={self.attribute_value} "
                "(dataset.attribute, dataset.attribute_value)."
            )
        return files

    def subset(self, split: str) -> str:
        kept = f" {self.attribute}={self.attribute_value}" if self.attribute is not None else ""
        return super().subset(split) + kept

    def held_out(self, folder: Path, files: list[Path]) -> list[bool]:
        table = self.root / "identity_CelebA.txt"
        if not table.is_file():
            rank_zero_warn(
                f"{self.name}: {table} is missing, so the test split is drawn image by image and a person "
                "may be in both splits. Put CelebA's identity_CelebA.txt there to split by identity."
            )
            return super().held_out(folder, files)
        identity = dict(line.split() for line in table.read_text().splitlines() if line.strip())
        missing = [f.name for f in files if f.name not in identity]
        if missing:
            raise DataError(f"{self.name}: {len(missing)} images (e.g. {missing[0]}) have no row in {table}.")
        return [_in_share(identity[f.name], self.test_share) for f in files]

    def _attribute_file(self, key: str) -> Path:
        """list_attr_celeba.txt (a count line, a names line, rows); `key` is the setting that needs it."""
        table = self.root / "list_attr_celeba.txt"
        if not table.is_file():
            raise DataError(
                f"dataset.{key}={getattr(self, key)}: {table} is missing. Put CelebA's list_attr_celeba.txt "
                f"there, or set dataset.{key}=null."
            )
        return table

    def _attribute_rows(self, files: list[Path], key: str = "label") -> list[list[int]]:
        """Every attribute (1 or -1) of each file."""
        table = self._attribute_file(key)
        rows = _attribute_table(table)[1]
        missing = [f.name for f in files if f.name not in rows]
        if missing:
            raise DataError(
                f"dataset.{key}={getattr(self, key)}: {len(missing)} images (e.g. {missing[0]}) have no row "
                f"in {table}."
            )
        return [rows[f.name] for f in files]

    def _attribute(self, name: str, files: list[Path], key: str) -> list[int]:
        """Attribute `name` (1 or -1) of each file; `key` is the setting that asked, for the errors."""
        names = _attribute_table(self._attribute_file(key))[0]
        if name not in names:
            raise ConfigError(
                f"dataset.{key}: {name} is not a CelebA attribute; use one of {', '.join(names)}."
            )
        column = names.index(name)
        return [row[column] for row in self._attribute_rows(files, key)]


def _attribute_table(table: Path) -> tuple[list[str], dict[str, list[int]]]:
    """The attribute names and each file's row, parsed once per version of the file."""
    stat = table.stat()
    return _parsed_attribute_table(table, stat.st_mtime_ns, stat.st_size)


@functools.cache
def _parsed_attribute_table(table: Path, mtime_ns: int, size: int) -> tuple[list[str], dict[str, list[int]]]:
    lines = table.read_text().splitlines()
    return lines[1].split(), {name: list(map(int, values)) for name, *values in map(str.split, lines[2:])}


def _in_share(key: str, share: float) -> bool:
    """Whether `key` falls in the first `share` of a stable hash's range: the same answer in every process."""
    return zlib.crc32(key.encode()) % 10_000 < share * 10_000


class StackedDigits(Dataset):
    """Item i: three of `digits` (N, 1, H, W), picked at random (seeded by `seed` and i), as one RGB image.

    The target is the digit triple as a number 0..999, the mode index of the Stacked MNIST benchmark.
    """

    def __init__(self, digits: torch.Tensor, labels: torch.Tensor, size: int, seed: int) -> None:
        self.digits, self.labels, self.size, self.seed = digits, labels, size, seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        picks = torch.randint(len(self.digits), (3,), generator=generator)
        a, b, c = self.labels[picks].tolist()
        return self.digits[picks].flatten(0, 1), 100 * a + 10 * b + c


class StackedMNISTDataModule(MNISTDataModule):
    """Stacked MNIST (Metz et al. 2017; VEEGAN; PacGAN): three random MNIST digits as the R, G, B channels,
    1,000 modes. Drawn on the fly from the MNIST split: `num_samples` images per split, the same every run."""

    stacked = True

    def __init__(self, num_samples: int, **kwargs) -> None:
        super().__init__(channels=3, **kwargs)
        if num_samples <= 0:
            raise ConfigError(f"dataset.num_samples={num_samples}: use a positive number of stacked images.")
        self.num_samples = num_samples

    @property
    def num_classes(self) -> int:
        return 1000

    def load(self, split: str) -> Dataset:
        mnist = super().load(split)
        # All digits scaled at once (as ToTensor + Normalize(0.5, 0.5) would, one by one): the stream then
        # only indexes a tensor, instead of decoding three PIL images per sample.
        digits = mnist.data.unsqueeze(1).float().div(127.5).sub(1)
        if self.image_size != digits.shape[-1]:
            digits = F.interpolate(digits, size=self.image_size, mode="bilinear", antialias=True)
        return StackedDigits(digits, mnist.targets, self.num_samples, self.seed + (split != "train"))
