"""Compare finished runs without W&B: one row per job (its overrides and final metrics), mean ± standard error
over seeds where jobs differ only in `seed`, and the metric curves of every job in one figure.

A run folder is one that holds `metrics.json` (written at the end of every run) or `job_status.json` (written
by every --multirun job, failed ones included); a sweep folder holds run folders. Final means the last step's
evaluation, never the best checkpoint's.
"""

import csv
import json
import math
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only
import matplotlib.pyplot as plt  # noqa: E402
import yaml  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from gan_lab.errors import GanLabError  # noqa: E402
from gan_lab.training.sweep import final_evaluation  # noqa: E402

# Overrides that say where a run went or how it was launched, not what it was: never a column.
NOT_A_SETTING = ("hydra.", "ckpt_path=", "data_dir=", "dataset.root=")


@dataclass
class Job:
    """One run: where it is, its overrides, whether it finished, and its final and per-evaluation metrics."""

    path: Path
    overrides: dict[str, str]
    status: str  # "done", or what ended it
    steps: int | None = None
    wall_time_s: float | None = None
    final: dict[str, float] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)


def _overrides(run: Path) -> dict[str, str]:
    path = run / ".hydra" / "overrides.yaml"
    listed = yaml.safe_load(path.read_text()) if path.is_file() else []
    pairs = (o.split("=", 1) for o in listed or [] if "=" in o and not o.startswith(NOT_A_SETTING))
    return {key.lstrip("+~"): value for key, value in pairs}


def read_job(run: Path) -> Job:
    """The record of the run in folder `run`."""
    overrides = _overrides(run)
    status_file, metrics_file = run / "job_status.json", run / "metrics.json"
    status = json.loads(status_file.read_text()) if status_file.is_file() else {"status": "done"}
    if status["status"] != "done" or not metrics_file.is_file():
        return Job(run, overrides, status.get("error") or status["status"])
    metrics = json.loads(metrics_file.read_text())
    history = [e for e in metrics.get("eval", []) if "step" in e]
    return Job(run, overrides, "done", metrics["steps"], metrics.get("wall_time_s"),
               final_evaluation(metrics), history)  # fmt: skip


def find_runs(folders: list[Path]) -> list[Path]:
    """Every run folder at or under `folders`, in order; GanLabError naming a folder that holds none."""
    runs: list[Path] = []
    for folder in (f.resolve() for f in folders):
        if not folder.is_dir():
            raise GanLabError(f"{folder} is not a folder: give run folders, or sweep folders holding them")
        found = sorted(
            {p.parent for name in ("metrics.json", "job_status.json") for p in folder.rglob(name)},
            key=lambda p: [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in p.parts],
        )
        if not found:
            raise GanLabError(
                f"no run under {folder}: a run folder holds metrics.json, or job_status.json under --multirun"
            )
        runs += [run for run in found if run not in runs]
    return runs


def _setting_keys(jobs: list[Job]) -> list[str]:
    """The differing override keys but `seed`: what sets one setting apart from another."""
    return [k for k in _differing(jobs) if k != "seed"]


def _differing(jobs: list[Job]) -> list[str]:
    """The override keys whose values are not the same in every job: the columns that tell jobs apart."""
    keys = sorted({k for job in jobs for k in job.overrides})
    return [k for k in keys if len({job.overrides.get(k) for job in jobs}) > 1]


def standard_error(values: list[float]) -> float:
    """Sample standard deviation over sqrt(n), as PacGAN reports; nan for fewer than two values."""
    return statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan


def summarise(jobs: list[Job], metrics: list[str]) -> list[dict]:
    """One row per setting (the jobs that differ only in `seed`): trials, finished, and per metric the mean,
    standard error, minimum and maximum over the finished trials."""
    keys = _setting_keys(jobs)
    groups: dict[tuple, list[Job]] = {}
    for job in jobs:
        groups.setdefault(tuple(job.overrides.get(k, "") for k in keys), []).append(job)
    rows = []
    for setting, members in groups.items():
        row: dict = dict(zip(keys, setting, strict=True))
        done = [j for j in members if j.status == "done"]
        row |= {"trials": len(members), "finished": len(done)}
        for metric in metrics:
            values = [j.final[metric] for j in done if metric in j.final]
            row |= {
                f"{metric}_mean": statistics.mean(values) if values else math.nan,
                f"{metric}_se": standard_error(values),
                f"{metric}_min": min(values, default=math.nan),
                f"{metric}_max": max(values, default=math.nan),
            }
        rows.append(row)
    return rows


@dataclass
class Reference:
    """A published row to print beside the lab's: its label, and per metric a mean and (if given) an error."""

    label: str
    values: dict[str, tuple[float, float]]  # metric -> (mean, standard error; nan when not given)


def parse_reference(label: str, items: list[str]) -> Reference:
    """`label` and items `METRIC=MEAN` or `METRIC=MEAN±SE` (`+-` also works); GanLabError on anything else."""
    if "=" in label:
        raise GanLabError(
            f"--reference {label!r}: start with the row's label, e.g. --reference 'PacGAN4' {label}"
        )
    values = {}
    for item in items:
        metric, _, text = item.partition("=")
        mean, _, se = text.replace("+-", "±").partition("±")
        try:
            values[metric] = (float(mean), float(se) if se else math.nan)
        except ValueError:
            raise GanLabError(
                f"reference {label!r}: {item!r} is not METRIC=MEAN or METRIC=MEAN±SE (e.g. kl_modes=0.7±0.07;"
                " run folders go before --reference)"
            ) from None
    return Reference(label, values)


def _published(value: tuple[float, float] | None) -> str:
    """A published mean ± s.e. as the tables print it ("–" when the paper gives none)."""
    if value is None:
        return "–"
    mean, se = value
    return _number(mean) if math.isnan(se) else f"{_number(mean)} ± {_number(se)}"


def _number(value: float) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def _setting(value: str) -> str:
    """An override's value as the tables print it: a key a job did not override kept its config's default."""
    return value if value != "" else "(default)"


def _table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table's lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]


def markdown(
    jobs: list[Job], summary: list[dict], metrics: list[str], root: Path, references: list[Reference] = ()
) -> str:
    """The summary (mean ± s.e. [min, max] over seeds), the published rows beside it, then every job."""
    keys = _setting_keys(jobs)
    settings = []
    for row in summary:
        cells = [_setting(row[k]) for k in keys] + [f"{row['finished']}/{row['trials']}"]
        for m in metrics:
            mean, se, low, high = (row[f"{m}_{s}"] for s in ("mean", "se", "min", "max"))
            cells.append(f"{_number(mean)} ± {_number(se)} [{_number(low)}, {_number(high)}]")
        settings.append(cells)
    columns = _differing(jobs)
    each = [
        [
            _relative(job.path, root),
            *(_setting(job.overrides.get(k, "")) for k in columns),
            job.steps or "–",
            job.status,
            *(_number(job.final.get(m, math.nan)) for m in metrics),
        ]  # fmt: skip
        for job in jobs
    ]
    lines = ["## Mean ± standard error [min, max] over trials, at each run's last step", ""]
    lines += _table([*keys, "trials", *metrics], settings)
    if references:
        published = [[ref.label, *(_published(ref.values.get(m)) for m in metrics)] for ref in references]
        lines += ["", "## Published rows beside these (mean ± standard error)", ""]
        lines += _table(["row", *metrics], published)
    lines += ["", "## Every job", ""] + _table(["job", *columns, "steps", "status", *metrics], each)
    return "\n".join(lines) + "\n"


def _relative(path: Path, root: Path) -> str:
    """How the tables name a job: its folder below the folders given (its own name if it is one of them)."""
    return str(path.relative_to(root)) if path != root and path.is_relative_to(root) else path.name


def _short(value: str) -> str:
    """An override's value for a legend: whole numbers in full (80000, not 8e+04), others to 4 significant
    digits."""
    try:
        number = float(value)
    except ValueError:
        return value
    return str(int(number)) if number.is_integer() else f"{number:.4g}"


def _step_tick(step: float, _position: int | None = None) -> str:
    """A step axis's tick label in thousands (40k): full numbers run into each other past 10,000 steps."""
    return f"{step / 1000:g}k" if step >= 1000 else f"{step:g}"


def plot_curves(jobs: list[Job], metrics: list[str], out: Path, root: Path) -> None:
    """One panel per metric: its value at every evaluation, one line per job, with one legend under the panels
    (its title names the differing overrides, each entry a job, named as in the tables, and its values).
    When every evaluation has its training time, a second row plots the same against it: recipes compared
    at equal time."""
    shown = [m for m in metrics if any(m in e for j in jobs for e in j.history)]
    timed = any(j.history for j in jobs) and all("train_time_s" in e for j in jobs for e in j.history)
    axis = [("step", "step", 1)] + ([("train_time_s", "training time (min)", 60)] if timed else [])
    width = max(len(shown), 1)
    fig, axes = plt.subplots(len(axis), width, figsize=(4.5 * width, 3.5 * len(axis)), dpi=110, squeeze=False)
    columns = _differing(jobs)
    for row, (key, xlabel, unit) in zip(axes, axis, strict=True):
        for ax, metric in zip(row, shown, strict=False):
            for job in jobs:
                points = [(e[key] / unit, e[metric]) for e in job.history if metric in e]
                if points:
                    values = " ".join(_short(_setting(job.overrides.get(k, ""))) for k in columns)
                    name = _relative(job.path, root)
                    label = f"{name}: {values}" if values else name
                    ax.plot(*zip(*points, strict=True), marker=".", label=label)
            ax.set(xlabel=xlabel, title=metric)
            if key == "step":
                ax.xaxis.set_major_formatter(FuncFormatter(_step_tick))
            ax.grid(alpha=0.3)
    if shown and len(jobs) <= 30:
        handles, labels = axes[0][0].get_legend_handles_labels()
        title = "job: " + " ".join(columns)
        ncol = 2 if len(labels) > 10 else 1
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=7, ncol=ncol,
                   title=title, title_fontsize=7)  # fmt: skip
    fig.tight_layout()
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)


def write_report(
    folders: list[Path], out: Path, metrics: list[str] | None = None, references: list[Reference] = ()
) -> list[Job]:
    """report.md, jobs.csv, summary.csv and curves.png in `out` for every run under `folders`; `references`
    (published rows) are printed beside the summary in report.md."""
    jobs = [read_job(run) for run in find_runs(folders)]
    if metrics is None:  # every metric any job reported at its last step, std columns aside
        metrics = sorted({m for j in jobs for m in j.final if not m.endswith("_std")})
    unknown = [m for m in metrics if not any(m in j.final for j in jobs)]
    if unknown:
        known = sorted({m for j in jobs for m in j.final})
        raise GanLabError(f"no job reported {unknown} at its last step; they reported {known}")
    for ref in references:
        extra = sorted(set(ref.values) - set(metrics))
        if extra:
            raise GanLabError(
                f"reference {ref.label!r} gives {extra}, which are not columns of this table: "
                + ", ".join(metrics)
            )
    out.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.commonpath([f.resolve() for f in folders]))
    summary = summarise(jobs, metrics)
    columns = _differing(jobs)
    with open(out / "jobs.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["job", *columns, "steps", "wall_time_s", "status", *metrics])
        for j in jobs:
            writer.writerow([_relative(j.path, root), *(j.overrides.get(k, "") for k in columns), j.steps,
                             j.wall_time_s, j.status, *(j.final.get(m, "") for m in metrics)])  # fmt: skip
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(summary[0]))
        writer.writeheader()
        writer.writerows(summary)
    title = ", ".join(str(f) for f in folders)
    (out / "report.md").write_text(f"# {title}\n\n" + markdown(jobs, summary, metrics, root, references))
    plot_curves(jobs, metrics, out / "curves.png", root)
    return jobs
