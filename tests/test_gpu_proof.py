"""`benchmarks/gpu_proof.py`, issue 17's device script, on the CPU at tiny sizes: its code paths, its rules
for "close" and "resumed equals straight", and its report."""

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_proof.py"
_spec = importlib.util.spec_from_file_location("gpu_proof", SCRIPT)
gpu_proof = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_proof)


def curve(d: list[float], g: list[float]) -> dict[int, dict[str, float]]:
    return {i + 1: {"loss/d": a, "loss/g": b} for i, (a, b) in enumerate(zip(d, g, strict=True))}


def test_close_is_step_one_within_5_percent_and_last_half_means_within_30():
    fp32 = curve([1.0, 0.8, 0.6, 0.6], [2.0, 2.5, 3.0, 3.0])
    assert gpu_proof.compare_losses(curve([1.04, 0.9, 0.7, 0.7], [2.05, 2.0, 3.5, 3.5]), fp32)["close"]
    step_one_off = gpu_proof.compare_losses(curve([1.2, 0.8, 0.6, 0.6], [2.0, 2.5, 3.0, 3.0]), fp32)
    assert not step_one_off["close"] and step_one_off["loss/d"]["step1"] == 1.2
    drifted = curve([1.0, 0.8, 0.6, 0.6], [2.0, 2.5, 4.0, 4.0])  # G's last-half mean 33% above fp32's
    assert not gpu_proof.compare_losses(drifted, fp32)["close"]
    nan = curve([1.0, 0.8, float("nan"), 0.6], [2.0, 2.5, 3.0, 3.0])
    assert not gpu_proof.compare_losses(nan, fp32)["finite"]
    assert not gpu_proof.compare_losses(curve([1.0, 0.8, 0.6], [2.0, 2.5, 3.0]), fp32)["close"]  # steps lost


def test_weight_difference_tells_identical_from_nearly(tmp_path):
    def run(name: str, weights: dict) -> Path:
        (tmp_path / name / "checkpoints").mkdir(parents=True)
        torch.save({"state_dict": weights}, tmp_path / name / "checkpoints" / "last.ckpt")
        return tmp_path / name

    a = run("a", {"w": torch.tensor([3.0, 4.0]), "steps": torch.tensor(7)})
    same = gpu_proof.weight_difference(a, run("b", {"w": torch.tensor([3.0, 4.0]), "steps": torch.tensor(7)}))
    assert same == {"identical": True, "relative_l2": 0.0}
    near = gpu_proof.weight_difference(a, run("c", {"w": torch.tensor([3.0, 4.5]), "steps": torch.tensor(7)}))
    assert not near["identical"] and near["relative_l2"] == pytest.approx(0.1)


def test_faces_are_replicated_by_links_to_the_size_asked(tmp_path, faces):
    folder = gpu_proof.replicate_faces(faces, tmp_path / "faces", 50)
    links = sorted(folder.iterdir())
    assert len(links) == 50 and all(p.is_symlink() for p in links)
    assert len({p.resolve() for p in links}) == 24  # the 24 images, each two or three times
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no .jpg"):
        gpu_proof.replicate_faces(tmp_path / "empty", tmp_path / "x", 3)


def test_a_command_stops_at_the_budget_and_says_so_in_its_exit_code(tmp_path, faces):
    args = dict(scale="tiny", out=tmp_path / "out", work=tmp_path / "w", data=faces, budget_s=0)
    proof = gpu_proof.Proof(argparse.Namespace(**args))  # no budget left: each command gets its 10 s floor
    done = proof.command(
        "sleeper", [sys.executable, "-c", "print('started'); import time; time.sleep(60)"], tmp_path
    )
    assert done.returncode == 124 and 10 <= done.seconds < 30
    assert done.log.read_text() == "started\n" and proof.logs[-1].startswith("## sleeper: rc 124")
    quick = proof.command("quick", [sys.executable, "-c", "raise SystemExit(3)"], tmp_path)
    assert quick.returncode == 3 and quick.seconds < 10


def run_script(tmp_path, faces, *sections: str) -> dict:
    out = tmp_path / "out"
    argv = [sys.executable, str(SCRIPT), "--data", str(faces), "--out", str(out), "--scale", "tiny"]
    argv += ["--work", str(tmp_path / "w"), "--budget-s", "3000", "--sections", *sections]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "gpu_proof.json").read_text())
    assert (out / "gpu_proof.md").exists() and (out / "gpu_proof.log").exists()
    return report["results"]


def test_precision_check_end_to_end_on_the_cpu(tmp_path, faces):
    """fp32 against bf16-mixed through `python -m gan_lab`, losses read from the CSV log of every step."""
    results = run_script(tmp_path, faces, "precision")
    precision = results["precision"]
    assert "error" not in precision, precision
    assert precision["bf16-mixed"]["finite"] and precision["bf16-mixed"]["loss/d"]["step1_reference"] > 0
    assert precision["16-mixed"] == "not run: it needs CUDA"


@pytest.mark.slow
def test_every_check_end_to_end_on_the_cpu(tmp_path, faces):
    """The whole script at tiny sizes (DDP on two CPU processes, kill and resume, the three-path bench, two
    trials at once): each check ran and passed what the CPU can pass."""
    results = run_script(tmp_path, faces, *gpu_proof.SECTIONS)
    for name in ("precision", "ddp", "resume", "compile", "throughput", "trials"):
        assert "error" not in results[name], (name, results[name])
    assert results["ddp"]["passed"] and results["ddp"]["devices"] == 2
    assert results["resume"]["deterministic"]["identical"]  # exact on the CPU, deterministic or not
    assert results["resume"]["default"]["resumed_vs_straight"]["identical"]
    assert " kept on cpu" in results["compile"]["on_device_line"]
    assert results["throughput"]["row"]["peer_img_s"] > 0 and "gan_lab/peer" in results["throughput"]["table"]
    assert results["trials"]["k"] == 2 and len(results["trials"]["final"]) == 2
