"""The GAN data-augmentation study (`python -m gan_lab.cli.augmentation_study --multirun
experiment=augment_mnist`): does conditional-GAN data help a classifier that has few labels?

One job is one cell of the study: N labelled training images per class (`dataset.per_class`) and a `seed`.
It trains a conditional GAN on those same images (`study.gan`: overrides of conf/train.yaml), then the job's
own classifier (a) on the real images alone, with standard augmentation, and (b) on the real images plus
`ratio` generated images per real one, for each ratio in `study.ratios`. Every classifier is scored on the
full real test set. A job writes its rows to `results.json` in its folder; at the end of the multirun,
`StudyReport` gathers them into a table (Markdown and CSV) and a plot in `study.report_dir`.
"""

import copy
import csv
import json
import logging
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from hydra import compose  # noqa: E402
from hydra.experimental.callback import Callback  # noqa: E402
from hydra.utils import instantiate  # noqa: E402
from omegaconf import DictConfig, OmegaConf, open_dict  # noqa: E402

from gan_lab.data.synthetic import save_generated  # noqa: E402
from gan_lab.errors import ConfigError  # noqa: E402
from gan_lab.systems import load_system, read_checkpoint  # noqa: E402
from gan_lab.training.run import run  # noqa: E402

log = logging.getLogger(__name__)


def gan_config(cfg: DictConfig, out: Path) -> DictConfig:
    """The conditional GAN's run config: `study.gan` on conf/train.yaml, on the job's very training images."""
    gan = compose("train", overrides=list(cfg.study.gan))
    with open_dict(gan):
        gan.dataset = {**OmegaConf.to_container(cfg.dataset, resolve=True), "augment": False, "val_size": 0}
        gan.seed, gan.trainer, gan.logger = cfg.seed, cfg.trainer, cfg.logger  # logger: into the GAN's folder
        gan.paths.output_dir = str(out)
    return gan


def write_generated(gan_run: Path, n: int, seed: int) -> Path:
    """`n` samples of the cell's conditional GAN, classes in turn (balanced), as `generated.pt` beside it."""
    checkpoint, config = read_checkpoint(gan_run / "checkpoints" / "last.ckpt")
    data_shape = tuple(instantiate(config.dataset).data_shape)
    system = load_system(checkpoint, config, data_shape)
    if not system.num_classes:
        raise ConfigError("study.gan must train a conditional GAN (e.g. experiment=cdcgan_mnist).")
    system.to("cuda" if torch.cuda.is_available() else "cpu")
    labels = torch.arange(n) % system.num_classes
    return save_generated(gan_run / "generated.pt", system.sample(n, seed, labels), labels)


def classifier_config(cfg: DictConfig, out: Path, synthetic: Path | None, ratio: float) -> DictConfig:
    """The job's classifier config, on real images only (`synthetic` None) or with generated ones added."""
    run = copy.deepcopy(cfg)
    with open_dict(run):
        run.paths.output_dir = str(out)
        run.dataset.synthetic = str(synthetic) if synthetic else None
        run.dataset.synthetic_ratio = ratio if synthetic else 1.0
    return run


def run_cell(cfg: DictConfig) -> list[dict[str, Any]]:
    """Train the cell's GAN and classifiers; return (and write to results.json) one row per classifier."""
    if not cfg.get("study"):
        raise ConfigError(
            "this config has no `study` section: run an augmentation experiment, e.g. "
            "experiment=augment_mnist."
        )
    if not cfg.dataset.get("per_class"):
        raise ConfigError("dataset.per_class is not set: the study needs N labelled images per class.")
    if any(r <= 0 for r in cfg.study.ratios):
        raise ConfigError(f"study.ratios={list(cfg.study.ratios)}: use positive synthetic:real ratios.")
    out = Path(cfg.paths.output_dir)
    gan = run(gan_config(cfg, out / "gan"))
    gan_scores = gan["eval"][-1] if gan.get("eval") else {}
    real = cfg.dataset.per_class * instantiate(cfg.dataset).num_classes
    # The largest ratio's count: each classifier reads the first ratio x real of them.
    generated = write_generated(out / "gan", round(max(cfg.study.ratios) * real), cfg.seed)
    rows = []
    for ratio in [0.0, *cfg.study.ratios]:
        synthetic = generated if ratio else None
        result = run(classifier_config(cfg, out / f"classifier_ratio_{ratio:g}", synthetic, ratio))
        rows.append(
            {
                "dataset": cfg.dataset._target_.rsplit(".", 1)[-1].removesuffix("DataModule"),
                "per_class": cfg.dataset.per_class,
                "seed": cfg.seed,
                "ratio": float(ratio),
                "test_acc": result["final"]["test/acc"],
                "gan_fid": gan_scores.get("fid_classifier"),
                "gan_conditional_accuracy": gan_scores.get("conditional_accuracy"),
            }
        )
        log.info("augment | %s", rows[-1])
    (out / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and sample std of test accuracy over seeds, per (per_class, ratio)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["per_class"], row["ratio"])].append(row)
    summary = []
    for (per_class, ratio), members in sorted(groups.items()):
        acc = [100 * r["test_acc"] for r in members]
        cond = [
            100 * r["gan_conditional_accuracy"] for r in members if r["gan_conditional_accuracy"] is not None
        ]
        summary.append(
            {
                "per_class": per_class,
                "ratio": float(ratio),
                "seeds": len(acc),
                "test_acc_mean": statistics.mean(acc),
                "test_acc_std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
                "gan_conditional_accuracy_mean": statistics.mean(cond) if cond else None,
            }
        )
    return summary


def _label(ratio: float) -> str:
    return "real only" if ratio == 0 else f"+ GAN x{ratio:g}"


def markdown_table(summary: list[dict]) -> str:
    """Rows: images per class; columns: real only, then each synthetic:real ratio. Test accuracy in %."""
    ratios = sorted({s["ratio"] for s in summary})
    cells = {(s["per_class"], s["ratio"]): s for s in summary}
    lines = [
        "| per class | " + " | ".join(_label(r) for r in ratios) + " | cGAN conditional accuracy |",
        "| --- |" + " --- |" * (len(ratios) + 1),
    ]
    for per_class in sorted({s["per_class"] for s in summary}):
        row = [cells.get((per_class, r)) for r in ratios]
        accs = [
            f"{c['test_acc_mean']:.2f} ± {c['test_acc_std']:.2f} ({c['seeds']})" if c else "" for c in row
        ]
        cond = next((c["gan_conditional_accuracy_mean"] for c in row if c and c["ratio"]), None)
        lines.append(
            f"| {per_class} | " + " | ".join(accs) + f" | {'' if cond is None else f'{cond:.1f}%'} |"
        )
    return "\n".join(lines) + "\n"


def write_report(rows: list[dict], report_dir: Path, title: str) -> None:
    """results.csv (every classifier), summary.csv and summary.md (mean ± std over seeds), accuracy.png."""
    report_dir.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    for name, table in (("results.csv", rows), ("summary.csv", summary)):
        with open(report_dir / name, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(table[0]))
            writer.writeheader()
            writer.writerows(table)
    caption = "Test accuracy (%) on the full real test set, mean ± std over seeds (number of seeds).\n\n"
    (report_dir / "summary.md").write_text(f"# {title}\n\n{caption}{markdown_table(summary)}")
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110)
    for ratio in sorted({s["ratio"] for s in summary}):
        points = [s for s in summary if s["ratio"] == ratio]
        ax.errorbar(
            [s["per_class"] for s in points],
            [s["test_acc_mean"] for s in points],
            yerr=[s["test_acc_std"] for s in points],
            marker="o",
            capsize=3,
            label=_label(ratio),
        )
    ax.set(xscale="log", xlabel="real labelled images per class", ylabel="test accuracy (%)", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(report_dir / "accuracy.png", bbox_inches="tight")
    plt.close(fig)


class StudyReport(Callback):
    """At the end of a multirun, gather every results.json of its sweep dir into the study's report. Several
    multiruns may share one sweep dir (e.g. one per core); the last to finish reports them all."""

    def __init__(self, report_dir: str, title: str) -> None:
        self.report_dir, self.title = Path(report_dir), title
        self.sweep_dir: Path | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.sweep_dir = Path(config.hydra.sweep.dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        rows = [row for f in self.sweep_dir.glob("*/results.json") for row in json.loads(f.read_text())]
        rows.sort(key=lambda r: (r["per_class"], r["seed"], r["ratio"]))
        if not rows:
            log.warning("augment | no job of %s finished: no report written", self.sweep_dir)
            return
        write_report(rows, self.report_dir, self.title)
        log.info("augment | %d classifiers summarised in %s", len(rows), self.report_dir)
