"""The training data pipeline alone: images per second that the training loader delivers, no model.

    python benchmarks/data_pipeline.py --root ../shared/data/anime-faces

Compares decoding every JPEG at every access (num_workers 0 and 2), the decode cache (dataset.cache), and the
split kept on the device (dataset.on_device). The variants are measured in turn, round after round, so that
a machine whose load changes affects them alike; the table reports each one's median over the rounds.
"""

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time

import pytorch_lightning as pl
import torch

from gan_lab.data import AnimeDataModule

# name: dataset settings, on top of the anime-faces defaults
VARIANTS = {
    "no cache, num_workers=0": dict(cache=False, num_workers=0),
    "no cache, num_workers=2": dict(cache=False, num_workers=2),
    "cache, num_workers=0": dict(cache=True, num_workers=0),
    "cache, num_workers=2": dict(cache=True, num_workers=2),
    "on_device": dict(cache=True, num_workers=0, on_device=True),
}


def images_per_second(batches, device: torch.device, warmup: int, count: int) -> float:
    """Time `count` batches after `warmup` ones (which also drain what workers prefetched meanwhile)."""
    for x, _ in itertools.islice(batches, warmup):
        x.to(device, non_blocking=True)
    start, images = time.perf_counter(), 0
    for x, _ in itertools.islice(batches, count):
        images += len(x.to(device, non_blocking=True))  # the copy a training step would wait for
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--root", required=True, help="a folder of images, e.g. ../shared/data/anime-faces")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=100, help="timed batches per round and variant")
    parser.add_argument("--warmup", type=int, default=10, help="untimed batches before each timing")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--accelerator", default="cpu", help="where batches go: cpu, or gpu")
    args = parser.parse_args()
    # A fresh cache folder, filled by a first setup timed on its own: the bad-file check and the decoding,
    # both once per dataset. The variants' setup times are then those of every later run.
    with tempfile.TemporaryDirectory(prefix="gan_lab_bench_") as cache:
        os.environ.setdefault("GAN_LAB_CACHE", cache)
        measure(args)


def measure(args: argparse.Namespace) -> None:
    def datamodule(**settings) -> AnimeDataModule:
        return AnimeDataModule(root=args.root, image_size=args.image_size, channels=3,
                               batch_size=args.batch_size, seed=0, **settings)  # fmt: skip

    start = time.perf_counter()
    datamodule(cache=True, num_workers=0).setup("fit")
    first_setup = time.perf_counter() - start
    # A real Trainer attached, as in training: on_device then puts the split on its device.
    trainer = pl.Trainer(accelerator=args.accelerator, devices=1, logger=False, enable_progress_bar=False)
    device = trainer.strategy.root_device
    streams, setup_s = {}, {}
    for name, settings in VARIANTS.items():
        dm = datamodule(**settings)
        dm.trainer = trainer
        start = time.perf_counter()
        dm.setup("fit")
        setup_s[name] = time.perf_counter() - start
        streams[name] = iter(dm.train_dataloader())

    rates: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for r in range(args.rounds):
        for name, batches in streams.items():
            rates[name].append(images_per_second(batches, device, args.warmup, args.batches))
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{rates[n][-1]:.0f}" for n in VARIANTS),
              file=sys.stderr)  # fmt: skip

    baseline = statistics.median(rates["no cache, num_workers=0"])
    print(f"{len(dm.train_set)} images of {args.image_size}x{args.image_size} from {args.root}, batches of "
          f"{args.batch_size}, delivered to {device}; median of {args.rounds} rounds of {args.batches} "
          f"batches, "
          f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs. First setup (bad-file check and "
          f"decoding into the cache, once per dataset): {first_setup:.1f} s\n")  # fmt: skip
    print("| variant | setup (s) | images/s (median) | min-max | vs. no cache, num_workers=0 |")
    print("|---|---:|---:|---:|---:|")
    for name, measured in rates.items():
        median = statistics.median(measured)
        print(f"| {name} | {setup_s[name]:.2f} | {median:,.0f} | {min(measured):,.0f}-{max(measured):,.0f} | "
              f"{median / baseline:.1f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
