"""Find the files of an image folder that would crash or stall training, before training starts.

Each file is decoded once, as the loader would (open, decode, convert to the dataset's mode). The verdicts
are cached per folder, keyed by every file's (name, size, mtime): a second run of a big folder pays a stat.
"""

import hashlib
import json
import logging
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from gan_lab.paths import cache_dir

log = logging.getLogger(__name__)

# What each kind of bad file is, as the warning and the error name it.
KINDS = {
    "empty": "empty file",
    "not an image": "not an image Pillow can read",
    "corrupt": "truncated or corrupt",
    "too large": "too many pixels",
    "unconvertible": "color mode cannot be converted",
}
CHECK_VERSION = 1  # bump when the verdicts change, so old caches are not trusted


@dataclass(frozen=True)
class BadFile:
    path: Path
    kind: str  # a key of KINDS
    detail: str

    def __str__(self) -> str:
        return f"{self.path} ({KINDS[self.kind]}: {self.detail})"


def check_image(path: Path, mode: str, max_pixels: int) -> tuple[str, str] | None:
    """(kind, detail) when `path` cannot load as a `mode` image of at most `max_pixels`; None when fine."""
    if path.stat().st_size == 0:
        return "empty", "0 bytes"
    try:
        with warnings.catch_warnings():
            # Pillow warns from 1x its own limit and raises from 2x; both are reported here as "too large".
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as error:
        pixels = re.search(r"\((\d+) pixels\)", str(error))  # "Image size (400000000 pixels) exceeds..."
        return "too large", f"{pixels[1] if pixels else 'more'} pixels, over dataset.max_pixels={max_pixels}"
    except UnidentifiedImageError:
        # Also what Pillow says for a header cut short, and for band layouts it has no mode for
        # (2- or 5-band TIFFs, float RGB): the file is unusable either way.
        return "not an image", "Pillow cannot identify its format"
    except Exception as error:  # any failure to open makes the file unusable
        return "corrupt", f"{type(error).__name__}: {error}"
    with image:
        width, height = image.size
        if width * height > max_pixels:  # from the header: a decompression bomb is never decoded
            return "too large", f"{width}x{height} pixels, over dataset.max_pixels={max_pixels}"
        try:
            if image.format == "JPEG":
                # Decode at 1/8 scale, several times faster: libjpeg still reads every byte of the entropy
                # coded data, so truncation and broken markers are found just as by a full decode.
                image.draft(None, (1, 1))
            image.load()
        except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError...
            return "corrupt", f"{type(error).__name__}: {error}"
        try:
            image.convert(mode)
        except Exception:  # e.g. Pillow 13 converts a CIELab TIFF (mode LAB) to RGB, not to L
            return "unconvertible", f"mode {image.mode} cannot be converted to {mode}"
    return None


def files_fingerprint(folder: Path, files: list[Path], settings: str) -> str:
    """A digest of `settings` and every file's (name under `folder`, size, mtime): what a cache of results
    derived from the files is keyed by. Costs a stat per file, never a read."""
    digest = hashlib.sha1(settings.encode())
    for path in files:
        stat = path.stat()
        digest.update(f"\0{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _fingerprint(folder: Path, files: list[Path], mode: str, max_pixels: int) -> str:
    return files_fingerprint(folder, files, f"{CHECK_VERSION} {mode} {max_pixels}")


def _cache_file(folder: Path, mode: str, max_pixels: int) -> Path:
    # One file per folder and settings: a changed folder overwrites its entry instead of piling up new ones.
    key = hashlib.sha1(f"{folder} {mode} {max_pixels}".encode()).hexdigest()[:16]
    return cache_dir() / "image-checks" / f"{key}.json"


def find_bad_files(folder: Path, files: list[Path], mode: str, max_pixels: int) -> list[BadFile]:
    """The bad ones among `files` (all under `folder`), in the order given; cached (see the module doc)."""
    cache = _cache_file(folder.resolve(), mode, max_pixels)
    fingerprint = _fingerprint(folder, files, mode, max_pixels)
    try:
        cached = json.loads(cache.read_text())
        if cached["fingerprint"] == fingerprint:
            return [BadFile(folder / name, kind, detail) for name, kind, detail in cached["bad"]]
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache yet, or an unreadable one: check again
    log.info("checking %d images in %s (once: the result is cached)", len(files), folder)
    bad = [BadFile(f, *verdict) for f in files if (verdict := check_image(f, mode, max_pixels))]
    rows = [[str(b.path.relative_to(folder)), b.kind, b.detail] for b in bad]
    entry = {"fingerprint": fingerprint, "bad": rows}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f"{cache.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(entry))
        os.replace(partial, cache)  # DDP ranks may check at once; readers see a whole file or none
    except OSError as error:  # the cache only saves time: a read-only cache folder must not stop the run
        log.warning("could not cache the image check in %s: %s", cache, error)
    return bad
