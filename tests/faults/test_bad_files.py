"""dataset.on_bad_file: a folder of images holding one file of each kind that would crash or stall a run."""

import re
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import cli, compose_run
from hydra.utils import instantiate
from PIL import Image

from gan_lab.data import ImageFolderDataModule, checks
from gan_lab.data.checks import check_image, find_bad_files
from gan_lab.errors import ConfigError, DataError

# Each bad file, named for sorted order, with the kind of bad the check must call it (at dataset.channels=1).
BAD = {
    "bad_empty.jpg": "empty",
    "bad_huge.png": "too large",
    "bad_lab.png": "unconvertible",
    "bad_noise.png": "not an image",
    "bad_text.jpg": "not an image",
    "bad_truncated.jpg": "corrupt",
    "sub/bad_truncated.png": "corrupt",
}
GOOD = ["a0.jpg", "a1.jpg", "a2.png", "sub/c0.jpg"]


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height`, without the pixels: how a decompression bomb starts."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def noise(seed: int, size: int = 64) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8))


def write_bad_folder(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    for i, name in enumerate(GOOD):
        noise(i).save(root / name)
    (root / "README.txt").write_text("not an image, and not an image extension: ignored")
    (root / "bad_empty.jpg").touch()
    (root / "bad_huge.png").write_bytes(png_header(20_000, 20_000))
    # CIELab TIFF under a .png name (Pillow reads by content): it converts to RGB, but not to L.
    Image.new("LAB", (8, 8)).save(root / "bad_lab.png", format="TIFF")
    (root / "bad_noise.png").write_bytes(np.random.default_rng(9).bytes(3000))
    (root / "bad_text.jpg").write_text("this is a caption, not a picture")
    for name, fmt in (("bad_truncated.jpg", "JPEG"), ("sub/bad_truncated.png", "PNG")):
        noise(7).save(root / name, format=fmt)
        data = (root / name).read_bytes()
        (root / name).write_bytes(data[: len(data) // 2])
    return root


@pytest.fixture
def bad_folder(tmp_path) -> Path:
    return write_bad_folder(tmp_path / "images")


def datamodule(tmp_path, root, *overrides):
    args = ["dataset=image_folder", f"dataset.root={root}", "dataset.channels=1", *overrides]
    return instantiate(compose_run(args, tmp_path / "run").dataset)


def test_each_kind_of_bad_file_is_found_and_named(bad_folder):
    files = sorted(p for p in bad_folder.rglob("*") if p.suffix != ".txt" and p.is_file())
    bad = find_bad_files(bad_folder, files, "L", Image.MAX_IMAGE_PIXELS)
    assert {b.path.relative_to(bad_folder).as_posix(): b.kind for b in bad} == BAD


def test_error_stops_setup_at_the_first_bad_file(tmp_path, bad_folder):
    dm = datamodule(tmp_path, bad_folder)
    first = re.escape(str(bad_folder / "bad_empty.jpg"))
    with pytest.raises(DataError, match=rf"{first} \(empty file.*6 more of the 11 files.*on_bad_file=skip"):
        dm.setup("fit")
    assert dm.train_set is None


def test_skip_keeps_exactly_the_good_images_and_warns_once(tmp_path, bad_folder):
    dm = datamodule(tmp_path, bad_folder, "dataset.on_bad_file=skip")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dm.setup("fit")
    assert [p.relative_to(bad_folder).as_posix() for p in dm.train_set.files] == GOOD
    assert all(dm.train_set[i][0].shape == (1, 64, 64) for i in range(len(GOOD)))
    messages = [str(w.message) for w in caught if "bad image files" in str(w.message)]
    assert len(messages) == 1
    assert "skipped 7 bad image files of 11" in messages[0]
    for count in ("1 empty file", "2 not an image", "2 truncated or corrupt", "1 too many pixels", "1 color"):
        assert count in messages[0]
    assert "First: bad_empty.jpg (0 bytes); bad_huge.png" in messages[0]


def test_the_check_is_cached_until_a_file_changes(tmp_path, bad_folder, monkeypatch):
    datamodule(tmp_path, bad_folder, "dataset.on_bad_file=skip").setup("fit")
    calls = []
    monkeypatch.setattr(checks, "check_image", lambda path, *args: calls.append(path) or None)
    again = datamodule(tmp_path, bad_folder, "dataset.on_bad_file=skip")
    again.setup("fit")
    assert calls == [] and len(again.train_set) == len(GOOD)  # the cached verdicts, without decoding
    noise(5).save(bad_folder / "bad_text.jpg")  # fixed by the user: size and mtime change
    fixed = datamodule(tmp_path, bad_folder, "dataset.on_bad_file=skip")
    fixed.setup("fit")
    assert len(calls) == 11 and len(fixed.train_set) == 11  # checked again (the stub calls everything good)


@pytest.mark.parametrize("key,value", [("on_bad_file", "ignore"), ("max_pixels", 0), ("max_pixels", 10**12)])
def test_bad_settings_fail_in_the_constructor(tmp_path, key, value):
    with pytest.raises(ConfigError, match=f"dataset.{key}={value!r} cannot work"):
        ImageFolderDataModule(
            root=tmp_path, image_size=64, channels=3, batch_size=8, num_workers=0, **{key: value}
        )


@pytest.mark.filterwarnings("error")  # Pillow's DecompressionBombWarning must not escape
@pytest.mark.parametrize("side", [10_000, 100_000])  # above Pillow's limit it warns, above twice it raises
def test_huge_images_are_refused_from_their_header(tmp_path, side):
    path = tmp_path / "huge.png"
    path.write_bytes(png_header(side, side))
    limit = Image.MAX_IMAGE_PIXELS
    kind, detail = check_image(path, "RGB", limit)
    assert kind == "too large" and detail.endswith(f"pixels, over dataset.max_pixels={limit}")
    noise(0).save(tmp_path / "small.png")
    assert check_image(tmp_path / "small.png", "RGB", 64 * 64 - 1) == (
        "too large",
        "64x64 pixels, over dataset.max_pixels=4095",
    )


CONVERTIBLE = [("CMYK", "JPEG"), ("RGBA", "PNG"), ("LA", "PNG"), ("P", "PNG"), ("I;16", "PNG"), ("1", "PNG"),
               ("L", "WEBP"), ("P", "BMP")]  # fmt: skip


@pytest.mark.parametrize("mode,fmt", CONVERTIBLE)
def test_modes_pillow_converts_are_not_bad(tmp_path, mode, fmt):
    path = tmp_path / f"image.{fmt.lower()}"
    Image.new(mode, (8, 8)).save(path, format=fmt)
    assert check_image(path, "RGB", 10**6) is None and check_image(path, "L", 10**6) is None


def test_the_cli_stops_before_training_with_one_line(tmp_path, bad_folder):
    result = cli(["experiment=dcgan_anime", "dataset=image_folder", f"dataset.root={bad_folder}"], tmp_path)
    assert result.returncode == 1
    assert f"gan_lab: error: ImageFolder: bad image file {bad_folder / 'bad_empty.jpg'}" in result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.rglob("*.ckpt"))
