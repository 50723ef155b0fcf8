"""Image folders decoded once: every image converted, resized and cropped into one uint8 array on disk, which
later runs memory-map, so that no epoch after the first decodes a JPEG.

The array is a .npy file under cache_dir()/images, one per folder and preprocessing settings, beside a JSON
header holding the fingerprint of what it was decoded from: the files' names, sizes and mtimes, the settings
and the Pillow and torchvision versions. When any of them changes, the array is decoded again in its place.
"""

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.functional import pil_to_tensor

from gan_lab.data.checks import files_fingerprint
from gan_lab.paths import cache_dir

log = logging.getLogger(__name__)
CACHE_VERSION = 1  # bump when what the array holds changes, so old arrays are decoded again


class _Decoding(Dataset):
    """Item i: file i through `decode`, as the C x H x W uint8 tensor of its pixels."""

    def __init__(self, files: list[Path], decode: Callable[[Image.Image], Image.Image]) -> None:
        self.files, self.decode = files, decode

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        with Image.open(self.files[index]) as image:
            return pil_to_tensor(self.decode(image))


def decoded_images(
    folder: Path,
    files: list[Path],
    decode: Callable[[Image.Image], Image.Image],
    shape: tuple[int, int, int],
    settings: str,
    num_workers: int = 0,
    subset: str = "",
) -> Path | None:
    """The .npy file holding every one of `files` (under `folder`) through `decode`, as one N x C x H x W
    uint8 array (`shape` = C, H, W), for np.load(mmap_mode="r"). Decoded on the first call, with
    `num_workers` processes; found again while the files and `settings` (a description of what `decode`
    does) stay the same. `subset` names which of the folder's images `files` are (a split, a filter), when
    not all. None when it cannot be written (a read-only or full cache folder).
    """
    # One array per folder, subset and settings: a changed folder overwrites its array instead of piling up
    # new ones, and a split or filter of the same folder has its own.
    key = f"{folder.resolve()} {subset} {settings}" if subset else f"{folder.resolve()} {settings}"
    name = hashlib.sha1(key.encode()).hexdigest()[:16]
    path = cache_dir() / "images" / f"{name}.npy"
    header = path.with_suffix(".json")
    # Pillow's resampling has changed between versions: another version decodes afresh.
    versions = f"Pillow {PIL.__version__} torchvision {torchvision.__version__}"
    fingerprint = files_fingerprint(folder, files, f"{CACHE_VERSION} {settings} {versions}")
    shape = (len(files), *shape)
    try:
        if json.loads(header.read_text())["fingerprint"] == fingerprint:
            if np.load(path, mmap_mode="r").shape == shape:
                return path
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache yet, or an unreadable one: decode again
    log.info("decoding %d images once into %s (later runs read them from there)", len(files), path)
    # Several DDP ranks may decode at once: each writes its own file and renames it, an atomic step.
    partial = path.with_name(f"{name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Plain writes rather than a writable memory map: a full disk is then an OSError, not a SIGBUS.
        with open(partial, "wb") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False, "shape": shape})
            # Its own generator: decoding must not draw from the global RNG (resume equality).
            loader = DataLoader(
                _Decoding(files, decode), batch_size=256, num_workers=num_workers, generator=torch.Generator()
            )
            for batch in loader:
                f.write(batch.numpy().tobytes())
        os.replace(partial, path)
        # The header last: a reader that finds it finds the array it describes.
        partial.write_text(json.dumps({"fingerprint": fingerprint, "shape": shape}))
        os.replace(partial, header)
    except OSError as error:  # the cache only saves time: without it, images are decoded at every access
        with contextlib.suppress(OSError):  # e.g. no folder to hold it in the first place
            partial.unlink(missing_ok=True)
        log.warning(
            "could not cache the decoded images in %s (%s): decoding them at every access", path, error
        )
        return None
    return path
