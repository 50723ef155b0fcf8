"""`python -m gan_lab` as a user runs it: a subprocess in a fresh working directory."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import PROGRESS, cli

FAST = ["train.steps=5", "samples.every=null", "checkpoint.every=null"]


def run_folders(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("metrics.json"))


def test_help_lists_the_config_groups(tmp_path):
    result = cli(["--help"], tmp_path)
    assert result.returncode == 0
    for group in ("experiment:", "dataset:", "model:", "trainer:", "logger:"):
        assert group in result.stdout


def test_cfg_job_prints_the_composed_experiment(tmp_path):
    result = cli(["--cfg", "job", "experiment=dcgan_mnist", "system.nets.ngf=32"], tmp_path)
    assert result.returncode == 0
    assert "experiment_name: dcgan_mnist" in result.stdout and "ngf: 32" in result.stdout
    assert not (tmp_path / "runs").exists()


def test_default_run_writes_samples_metrics_and_a_checkpoint(tmp_path):
    result = cli(["train.steps=40", "samples.every=20", "hydra.run.dir=out"], tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert "gan_lab | quickstart | data GaussianGrid 100000 x 2" in result.stdout + result.stderr
    samples = sorted(p.name for p in (out / "samples").iterdir())
    assert samples == [*PROGRESS, "step_000020.png", "step_000040.png"]
    assert json.loads((out / "metrics.json").read_text())["steps"] == 40
    assert (out / "checkpoints" / "last.ckpt").is_file() and (out / ".hydra" / "config.yaml").is_file()
    # Not a terminal: progress lines every 5% of the run, on the console and in the run's log
    lines = [
        line for line in (out / "train.log").read_text().splitlines() if "| step " in line and "/40" in line
    ]
    assert [line.split("| step ")[1].split()[0] for line in lines] == [f"{s}/40" for s in range(2, 41, 2)]
    assert "step 40/40 (100%)" in result.stdout + result.stderr and " left" in lines[-1]
    # Library deprecations are not the user's to act on (Lightning 2.6 on torch 2.14 printed one per run)
    assert "is deprecated" not in result.stdout + result.stderr


def test_a_bad_value_fails_before_training_with_one_clear_line(tmp_path, mnist_idx):
    result = cli(["experiment=dcgan_mnist", f"dataset.root={mnist_idx}", "dataset.image_size=48"], tmp_path)
    assert result.returncode == 1
    assert "gan_lab: error: dataset.image_size=48 is not supported by model=dcgan" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("last.ckpt"))


def test_missing_data_fails_naming_the_folder(tmp_path):
    result = cli(["experiment=dcgan_anime", "dataset.root=no_such_folder"], tmp_path)
    assert result.returncode == 1
    assert "no_such_folder does not exist" in result.stderr and "dataset.root" in result.stderr


def test_multirun_gives_each_job_its_own_folder(tmp_path):
    args = ["-m", "system.optimizers.generator.lr=1e-4,2e-4", "system.lr_decay=constant", *FAST]
    result = cli(args, tmp_path)
    assert result.returncode == 0, result.stderr
    folders = run_folders(tmp_path)
    assert [f.name for f in folders] == ["0", "1"] and folders[0].parent == folders[1].parent
    assert folders[0].parent.parent == tmp_path / "multiruns" / "quickstart"
    lrs = [json.loads((f / "metrics.json").read_text())["final"]["lr/generator"] for f in folders]
    assert lrs == pytest.approx([1e-4, 2e-4])
    for folder in folders:  # each job's own summary and "done" lines in its own log, none of the other's
        said = [
            line for line in (folder / "train.log").read_text().splitlines() if "gan_lab | done in" in line
        ]
        assert len(said) == 1 and said[0].endswith(f"outputs in {folder}")


def test_ddp_on_two_cpu_processes_writes_one_run_folder(tmp_path):
    args = ["trainer=ddp_cpu", "hydra.run.dir=out", "train.steps=6", "samples.every=3", "eval.every=3"]
    result = cli(args, tmp_path)
    assert result.returncode == 0, result.stderr
    assert run_folders(tmp_path) == [tmp_path / "out"]
    out = tmp_path / "out"
    assert (out / "train_ddp_process_1.log").is_file()  # rank 1 ran, in this folder
    assert "cpu x 2" in result.stdout + result.stderr
    samples = sorted(p.name for p in (out / "samples").iterdir())
    assert samples == [*PROGRESS, "step_000003.png", "step_000006.png"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 6
    assert [h["step"] for h in metrics["eval"]] == [3, 6]  # rank zero scored, every rank agreed
    assert (out / "checkpoints" / "best.ckpt").is_file()


def test_ddp_inside_a_multirun_keeps_jobs_apart(tmp_path):
    result = cli(["-m", "trainer=ddp_cpu", "system.optimizers.generator.lr=1e-4,2e-4", *FAST], tmp_path)
    assert result.returncode == 0, result.stderr
    folders = run_folders(tmp_path)
    assert [f.name for f in folders] == ["0", "1"]
    assert all((f / "train_ddp_process_1.log").is_file() for f in folders)
    assert not (tmp_path / "runs").exists()  # no stray single-run folder from a child rank


def wandb_records(run_dir: Path) -> list[dict]:
    wandb_cli = Path(sys.executable).with_name("wandb")
    out = subprocess.run([str(wandb_cli), "leet", "inspect", "--json", str(run_dir)], capture_output=True,
                         text=True, check=True)  # fmt: skip
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def test_wandb_offline_logs_losses_images_metrics_and_no_secret(tmp_path):
    secret = "sk-not-a-real-key-0123456789abcdef"
    env = {"WANDB_API_KEY": secret, "WANDB_MODE": ""}
    args = ["logger=wandb", "logger.offline=true", "train.steps=20", "samples.every=10", "hydra.run.dir=out",
            "eval.every=10"]  # fmt: skip
    result = cli(args, tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "wandb sync" in result.stdout + result.stderr
    (run_dir,) = (tmp_path / "out" / "wandb").glob("offline-run-*")
    records = wandb_records(run_dir)
    history = [r["history"]["item"] for r in records if r["type"] == "history"]
    assert any("loss/d" in h and "loss/g" in h for h in history)
    assert [h["samples.captions"] for h in history if "samples.captions" in h] == [["step 10"], ["step 20"]]
    evaluated = [h for h in history if "eval/modes_captured" in h]
    assert [int(float(h["trainer/global_step"])) for h in evaluated] == [10, 20]
    config = next(r for r in records if r["type"] == "config")
    assert "experiment_name" in json.dumps(config)
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_wandb_sweep_jobs_share_a_group_and_never_merge(tmp_path):
    result = cli(["-m", "logger=wandb", "system.optimizers.generator.lr=1e-4,2e-4", *FAST], tmp_path)
    assert result.returncode == 0, result.stderr
    runs = sorted(tmp_path.glob("multiruns/quickstart/*/*/wandb/offline-run-*"))
    assert len(runs) == 2
    headers = [next(r["run"] for r in wandb_records(run) if r["type"] == "run") for run in runs]
    sweep = runs[0].parents[2].name
    assert [h["run_group"] for h in headers] == [f"sweep-{sweep}"] * 2
    assert headers[0]["run_id"] != headers[1]["run_id"]
    assert [h["display_name"] for h in headers] == ["quickstart-0", "quickstart-1"]


def test_the_wheel_carries_configs_and_classifiers_and_runs_from_anywhere(tmp_path):
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(root)], check=True, capture_output=True)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("gan_lab-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "gan_lab/conf/train.yaml" in names and "gan_lab/conf/experiment/dcgan_anime.yaml" in names
    bundled = {f"gan_lab/metrics/classifiers/{name}.ckpt" for name in ("mnist", "fashion_mnist")}
    assert bundled <= set(names)
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "-q"]
    subprocess.run([*pip, "--target", str(target), str(wheel)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = "import gan_lab.paths as c; print(c.config_dir())"
    where = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert where.stdout.strip() == str(target / "gan_lab" / "conf")
    result = subprocess.run([sys.executable, "-m", "gan_lab", "--cfg", "job", "experiment=dcgan_celeba"],
                            cwd=tmp_path, env=env, capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0 and "experiment_name: dcgan_celeba" in result.stdout


def test_a_required_key_left_empty_is_named(tmp_path):
    result = cli(["dataset=image_folder", "model=dcgan"], tmp_path)
    assert result.returncode == 1
    assert "gan_lab: error: dataset.root has no value: set it, e.g. dataset.root=..." in result.stderr


def test_a_bad_value_checked_in_a_constructor_is_one_clear_line_too(tmp_path):
    result = cli(["dataset.std=0"], tmp_path)
    assert result.returncode == 1
    assert "gan_lab: error: dataset.std=0" in result.stderr and "Traceback" not in result.stderr
