"""`gan_lab.cli.report`: a real sweep's jobs, tabulated offline with mean ± standard error over seeds."""

import csv
import json
import math
import statistics

import pytest
from conftest import cli
from PIL import Image

from gan_lab.cli.report import main as report
from gan_lab.studies.compare import standard_error

RUN = ["train.steps=4", "eval.every=2", "samples.every=null", "logger=none", "checkpoint.every=null"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """Two learning rates x two seeds, and one job that cannot work (a negative learning rate)."""
    root = tmp_path_factory.mktemp("report")
    lrs = "system.optimizers.discriminator.lr=2e-4,1e-4,-1"
    cli(["--multirun", *RUN, lrs, "seed=0,1", "hydra.sweep.dir=sweep"], root)
    return root / "sweep"


def test_standard_error_is_the_sample_std_over_root_n():
    assert standard_error([1.0, 2.0, 3.0, 4.0]) == pytest.approx(1.2909944 / 2)
    assert math.isnan(standard_error([5.0]))


def test_the_report_groups_seeds_and_keeps_every_job(sweep, tmp_path, capsys):
    report([str(sweep), "--out", str(tmp_path / "r")])
    assert "6 jobs (4 finished)" in capsys.readouterr().out
    finals = {}
    for job in sweep.iterdir():
        metrics = job / "metrics.json"
        if metrics.is_file():
            record = json.loads(metrics.read_text())
            (last,) = [e for e in record["eval"] if e["step"] == record["steps"] == 4]
            finals[job.name] = last
    assert len(finals) == 4

    summary = list(csv.DictReader(open(tmp_path / "r/summary.csv")))
    by_lr = {row["system.optimizers.discriminator.lr"]: row for row in summary}
    assert set(by_lr) == {"0.0002", "0.0001", "-1"}
    assert by_lr["-1"]["finished"] == "0" and by_lr["-1"]["trials"] == "2"
    # Hydra numbers the jobs lr-major: 0, 1 are lr=2e-4 with seeds 0, 1; 2, 3 are lr=1e-4.
    for lr, jobs in (("0.0002", ("0", "1")), ("0.0001", ("2", "3"))):
        values = [finals[j]["high_quality_pct"] for j in jobs]
        row = by_lr[lr]
        assert row["trials"] == row["finished"] == "2"
        assert float(row["high_quality_pct_mean"]) == pytest.approx(statistics.mean(values))
        assert float(row["high_quality_pct_se"]) == pytest.approx(standard_error(values))
        assert float(row["high_quality_pct_min"]) == min(values)
        assert float(row["high_quality_pct_max"]) == max(values)

    jobs = list(csv.DictReader(open(tmp_path / "r/jobs.csv")))
    assert [j["job"] for j in jobs] == ["0", "1", "2", "3", "4", "5"]
    assert [j["status"] == "done" for j in jobs] == [True] * 4 + [False] * 2
    assert "cannot work" in jobs[4]["status"]
    table = (tmp_path / "r/report.md").read_text()
    assert "| 0/2 |" in table and "| 2/2 |" in table and "modes_captured" in table
    assert (tmp_path / "r/curves.png").stat().st_size > 0


def test_a_key_one_job_did_not_override_reads_as_its_default(sweep, tmp_path):
    cli([*RUN, "seed=0", "hydra.run.dir=plain"], tmp_path)
    report([str(sweep / "0"), str(tmp_path / "plain"), "--out", str(tmp_path / "r"), "--metrics", "kl_modes"])
    summary = (tmp_path / "r/report.md").read_text().split("## Every job")[0]
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "1/1" in line]
    assert sorted(row.split(" | ")[0] for row in rows) == ["| (default)", "| 0.0002"]


def test_one_run_folder_and_chosen_metrics(sweep, tmp_path):
    report([str(sweep / "2"), "--out", str(tmp_path / "r"), "--metrics", "kl_modes"])
    (row,) = list(csv.DictReader(open(tmp_path / "r/summary.csv")))
    assert row["trials"] == "1" and math.isnan(float(row["kl_modes_se"]))
    assert "modes_captured" not in (tmp_path / "r/report.md").read_text()


def test_a_published_row_is_printed_beside_the_summary(sweep, tmp_path):
    paper = ["--reference", "PacGAN GAN row", "modes_captured=17.3±0.8", "kl_modes=0.70+-0.07"]
    other = ["--reference", "a paper without errors", "kl_modes=0.5"]
    report(
        [str(sweep), "--out", str(tmp_path / "r"), "--metrics", "modes_captured", "kl_modes", *paper, *other]
    )
    table = (tmp_path / "r/report.md").read_text().split("## Published rows")[1].split("## Every job")[0]
    assert "| PacGAN GAN row | 17.3 ± 0.8 | 0.7 ± 0.07 |" in table
    assert "| a paper without errors | – | 0.5 |" in table


@pytest.mark.parametrize(
    "args, message",
    [
        (["nowhere"], "nowhere is not a folder"),
        (["."], "no run under"),
        (["SWEEP", "--metrics", "fid"], "no job reported ['fid'] at its last step"),
        (
            ["SWEEP", "--reference", "paper", "kl_modes=low"],
            "'kl_modes=low' is not METRIC=MEAN or METRIC=MEAN±SE",
        ),
        (["SWEEP", "--reference", "kl_modes=0.7"], "start with the row's label"),
        (["SWEEP", "--reference", "paper", "fid=3"], "gives ['fid'], which are not columns of this table"),
    ],
)
def test_bad_input_is_one_line(sweep, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        report([str(sweep) if a == "SWEEP" else a for a in args])
    assert message in str(stop.value.code) and str(stop.value.code).startswith("gan_lab.report: error:")


def test_curves_add_a_row_against_training_time_when_every_evaluation_has_it(sweep, tmp_path):
    untimed = tmp_path / "untimed" / "2"
    untimed.mkdir(parents=True)
    record = json.loads((sweep / "2" / "metrics.json").read_text())
    assert all(e["train_time_s"] > 0 for e in record["eval"])
    for e in record["eval"]:
        del e["train_time_s"]  # as a run saved before evaluations were timed
    (untimed / "metrics.json").write_text(json.dumps(record))
    report([str(sweep / "2"), "--out", str(tmp_path / "timed"), "--metrics", "kl_modes"])
    report([str(untimed), "--out", str(tmp_path / "plain"), "--metrics", "kl_modes"])
    timed_height = Image.open(tmp_path / "timed/curves.png").size[1]
    plain_height = Image.open(tmp_path / "plain/curves.png").size[1]
    assert timed_height > 1.7 * plain_height


def test_the_curves_name_each_job_as_the_tables_do(sweep, tmp_path, monkeypatch):
    import shutil

    from matplotlib.figure import Figure

    for name in ("pack1", "pack3"):  # two sweeps whose jobs are both numbered 0
        shutil.copytree(sweep / "0", tmp_path / "runs" / name / "0")
    legends = []
    legend = Figure.legend
    monkeypatch.setattr(
        Figure,
        "legend",
        lambda self, h, labels, **kw: legends.append(labels) or legend(self, h, labels, **kw),
    )
    report([str(tmp_path / "runs" / "pack1"), str(tmp_path / "runs" / "pack3"), "--out", str(tmp_path / "r")])
    assert [label.split(":")[0] for label in legends[0]] == ["pack1/0", "pack3/0"]
    assert "| pack1/0 |" in (tmp_path / "r" / "report.md").read_text()


def test_legend_values_and_step_ticks_stay_readable_at_long_runs():
    from gan_lab.studies.compare import _short, _step_tick

    values = ("80000", "1.0", "0.0001227", "cosine")
    assert [_short(v) for v in values] == ["80000", "1", "0.0001227", "cosine"]
    assert [_step_tick(s) for s in (0, 500, 40000, 2500)] == ["0", "500", "40k", "2.5k"]
