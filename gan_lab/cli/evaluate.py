"""`python -m gan_lab.cli.evaluate ckpt=PATH`: score a checkpoint, print a table, write e.g. `best.eval.json`.

Two baselines: `source=test_split` scores the dataset's real test images instead of the generator (what a
perfect generator would get: near 0 FID and KID), `source=initial` the generator as its run initialised it.
A translation run has three more, scored by the same metrics: `source=identity` (the input unchanged),
`histogram` (colours matched to a random target-domain training image) and `nearest` (the target-domain
training image nearest in the feature space).
"""

import json
from pathlib import Path

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict
from rich.console import Console
from rich.table import Table

from gan_lab.data import DataModule
from gan_lab.errors import ConfigError, reported_as_one_line
from gan_lab.metrics import Evaluator
from gan_lab.metrics.evaluator import real_batches
from gan_lab.metrics.translation import BASELINES, HistogramMatching, Identity, NearestNeighbour
from gan_lab.metrics.video import shuffled_clips, static_clips
from gan_lab.paths import config_dir
from gan_lab.systems import load_system, pick_device, read_checkpoint, steps_of

SOURCES = ("generator", "initial", "test_split", "static", "shuffled", *BASELINES)
VIDEO_BASELINES = ("static", "shuffled")  # what a clip metric must punish: no motion, and wrong motion
HISTOGRAM_TARGETS = 2000  # training images of each domain that histogram matching draws its targets from


# Settings newer than some checkpoints' saved configs: given on the command line, they are added to them.
ADDED_SINCE = {("metrics", "encoder"), ("metrics", "attribute_classifier")}


def run_config(cfg: DictConfig, saved: DictConfig) -> DictConfig:
    """The run's saved config with this command's non-null `eval`, `metrics` and `dataset` values on top."""
    if "metrics" not in saved:
        raise ConfigError("this checkpoint predates gan_lab's metrics: its run config has no metric set.")
    with open_dict(saved):
        for section in ("eval", "metrics", "dataset"):
            for key, value in cfg[section].items():
                if value is None:
                    continue
                if key not in saved[section] and (section, key) not in ADDED_SINCE:
                    raise ConfigError(f"{section}.{key}: this run's {section} has no such setting.")
                saved[section][key] = value
    return saved


def evaluate(cfg: DictConfig) -> dict:
    """Score `cfg.ckpt` (or its dataset's test split); write and return the JSON record."""
    if cfg.source not in SOURCES:
        raise ConfigError(f"source={cfg.source!r}: use one of {', '.join(SOURCES)}.")
    checkpoint, saved = read_checkpoint(cfg.ckpt)
    run = run_config(cfg, saved)
    datamodule: DataModule = instantiate(run.dataset)
    trained = cfg.source != "initial"
    system = load_system(checkpoint, run, datamodule.data_shape, trained)
    if cfg.raw_generator:
        system.sample_with_ema = False
    if not run.metrics.names:
        raise ConfigError("metrics.names is empty for this run: name some, e.g. metrics.names=[fid].")
    evaluator = Evaluator(
        run.metrics,
        datamodule,
        run.eval.num_samples,
        run.eval.batch_size,
        run.eval.seed,
        conditional=system.num_classes > 0,
    )
    device = pick_device(cfg.device)
    if cfg.source in VIDEO_BASELINES and len(datamodule.data_shape) != 4:
        raise ConfigError(f"source={cfg.source} is a baseline of video runs; this run generates images.")
    if (cfg.source in BASELINES) != system.translates and cfg.source not in ("generator", "initial"):
        raise ConfigError(
            f"source={cfg.source}: "
            + ("a baseline of translation runs; this run is not one." if cfg.source in BASELINES
               else f"use generator, initial or one of the translation baselines ({', '.join(BASELINES)}).")
        )  # fmt: skip
    test = real_batches(datamodule, "test", run.eval.num_samples, run.eval.batch_size, run.eval.seed)
    if cfg.source in ("generator", "initial"):
        scores = evaluator(system.to(device))
    elif cfg.source in BASELINES:
        scores = evaluator.score_translation(translation_baseline(cfg.source, datamodule, evaluator, run))
    elif cfg.source == "test_split":  # real test samples with their own labels: a perfect generator's scores
        scores = evaluator.score(((images.to(device), labels) for images, labels in test), device)
    elif cfg.source == "static":  # the generator's first frame of each clip, held: no motion at all
        clips = system.to(device).sample(run.eval.num_samples, run.eval.seed, batch_size=run.eval.batch_size)
        scores = evaluator.score([(static_clips(clips).to(device), None)], device)
    else:  # real test clips with their frames shuffled: right frames, wrong motion
        clips = torch.cat([c for c, _ in test])
        scores = evaluator.score([(shuffled_clips(clips, run.eval.seed).to(device), None)], device)
    record = {
        "checkpoint": str(Path(cfg.ckpt).resolve()),
        "step": steps_of(checkpoint),
        "source": cfg.source,
        "num_samples": run.eval.num_samples,
        "seed": run.eval.seed,
        "metrics": scores,
    }
    suffix = ".eval.json" if cfg.source == "generator" else f".eval-{cfg.source}.json"
    out = Path(cfg.ckpt).with_suffix(suffix)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print_table(record, out)
    return record


def translation_baseline(name: str, datamodule, evaluator: Evaluator, run: DictConfig):
    """The translation baseline `name`, drawing on the domains' training images."""
    if name == "identity":
        return Identity()

    def train_images(which: str, n: int | None) -> torch.Tensor:
        domain = datamodule.domain(which)
        n = len(domain.load("train")) if n is None else min(n, len(domain.load("train")))
        return torch.cat([x for x, _ in real_batches(domain, "train", n, run.eval.batch_size, run.eval.seed)])

    if name == "histogram":
        return HistogramMatching(*(train_images(w, HISTOGRAM_TARGETS) for w in "ab"), run.eval.seed)
    return NearestNeighbour(*(train_images(w, None) for w in "ab"), evaluator.extractors[0])


def print_table(record: dict, out: Path) -> None:
    table = Table(title=f"{record['source']} at step {record['step']}, {record['num_samples']} samples")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in record["metrics"].items():
        table.add_row(name, f"{value:.4f}" if isinstance(value, float) else str(value))
    console = Console()
    console.print(table)
    console.print(f"written to {out}")


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="evaluate")
def main(cfg: DictConfig) -> None:
    with reported_as_one_line("gan_lab.cli.evaluate"):
        evaluate(cfg)


if __name__ == "__main__":
    main()
