"""A kill at any moment leaves a loadable last.ckpt; the resumed run ends bit-identical to a straight one."""

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import cli

FAULTS = Path(__file__).parent
# The quickstart GAN: a real Lightning run of 60 steps in a second or two; no metrics, nothing but training.
RUN = ["train.steps=60", "samples.every=null", "metrics=none", "logger=none", "dataset.batch_size=64"]


def weights(path: Path) -> dict:
    """Everything a run's future depends on: networks, optimizer moments, step, RNG states."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    system = checkpoint["system"]
    return {"state_dict": checkpoint["state_dict"], "optimizers": checkpoint["optimizer_states"],
            "step": system["steps_done"], "rng": system["rng_states"]}  # fmt: skip


def assert_identical(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa["step"] == wb["step"]
    for name, tensor in wa["state_dict"].items():
        assert torch.equal(tensor, wb["state_dict"][name]), name
    assert repr(wa["optimizers"]) == repr(wb["optimizers"])


# What a one-task SLURM job sets: Lightning then runs with its SLURM support.
SLURM = {"SLURM_NTASKS": "1", "SLURM_NTASKS_PER_NODE": "1", "SLURM_JOB_ID": "4242",
         "SLURM_JOB_NAME": "gan_lab", "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0",
         "SLURM_NODELIST": "localhost"}  # fmt: skip


def signalled(sig: str, step: int, args: list[str], cwd: Path, env: dict | None = None):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, str(FAULTS / "signal_at_step.py"), sig, str(step), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip


# The recipe's stateful pieces on: an EMA generator (in the state dict) and R1 every 3rd step, so that a
# resumed run must also pick up the lazy penalty's schedule where the killed one left it.
RECIPE = ["penalty=r1", "system.penalty.every=3", "ema=default", "system.ema.start_step=10"]
VARIANTS = {"plain": [], "ema_and_lazy_r1": RECIPE}


@pytest.fixture(scope="module")
def straights(tmp_path_factory) -> Callable[[str], Path]:
    """The uninterrupted runs (one per variant, made when first asked for) every interrupted one must end
    identical to."""
    made: dict[str, Path] = {}

    def straight(variant: str = "plain") -> Path:
        if variant not in made:
            cwd = tmp_path_factory.mktemp(f"straight_{variant}")
            result = cli([*RUN, *VARIANTS[variant], "checkpoint.every=5", "hydra.run.dir=run"], cwd)
            assert result.returncode == 0, result.stderr
            made[variant] = cwd / "run/checkpoints/last.ckpt"
        return made[variant]

    return straight


@pytest.fixture
def straight(straights) -> Path:
    return straights("plain")


@pytest.mark.parametrize("variant", VARIANTS)
def test_kill_9_at_a_random_step_then_resume_ends_bit_identical(tmp_path, straights, variant):
    step = random.Random().randint(1, 59)
    args = [*RUN, *VARIANTS[variant], "checkpoint.every=5", "hydra.run.dir=run"]
    killed = signalled("SIGKILL", step, args, tmp_path)
    assert killed.returncode == -signal.SIGKILL, f"killed at step {step}: {killed.stderr[-2000:]}"
    last = tmp_path / "run/checkpoints/last.ckpt"
    saved = weights(last)["step"] if last.exists() else 0
    assert saved == step - step % 5, f"killed at step {step}, last.ckpt holds step {saved}"  # lost < every
    resumed = cli([*args, "ckpt_path=last"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_identical(last, straights(variant))


# (SIGUSR1 outside SLURM takes the same path: see the DDP test below.)
@pytest.mark.parametrize("sig, env", [("SIGTERM", {}), ("SIGUSR1", SLURM)], ids=["SIGTERM", "SIGUSR1-SLURM"])
def test_sigterm_or_sigusr1_writes_a_checkpoint_then_resume_ends_bit_identical(tmp_path, straight, sig, env):
    step = random.Random().randint(1, 59)
    # checkpoint.every=null: the only checkpoint before the end is the one the signal makes.
    stopped = signalled(sig, step, [*RUN, "checkpoint.every=null", "hydra.run.dir=run"], tmp_path, env)
    assert stopped.returncode == 1, stopped.stderr
    assert f"gan_lab: stopped by {sig} at step {step}" in stopped.stderr
    assert "ckpt_path=last hydra.run.dir=" in stopped.stderr  # the command that resumes
    last = tmp_path / "run/checkpoints/last.ckpt"
    assert weights(last)["step"] == step  # nothing lost
    assert not list(tmp_path.rglob("hpc_ckpt_*"))  # not Lightning's mid-step SLURM checkpoint
    resumed = cli([*RUN, "checkpoint.every=5", "hydra.run.dir=run", "ckpt_path=last"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_identical(last, straight)


def test_kill_9_at_random_moments_never_leaves_a_broken_checkpoint(tmp_path, straight):
    """A checkpoint every step, killed from outside at random moments (mid-write too), resumed each time."""
    args = [*RUN, "checkpoint.every=1", "hydra.run.dir=run", "ckpt_path=last"]
    command = [sys.executable, "-m", "gan_lab", *args]
    last, kills, rng = tmp_path / "run/checkpoints/last.ckpt", 0, random.Random()
    for _ in range(2):
        before = weights(last)["step"] if last.exists() else 0
        process = subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not last.exists() or weights_step(last) == before):
            time.sleep(0.05)  # until training runs: then kill at a random moment within the next steps
        time.sleep(rng.uniform(0, 0.3))
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += process.returncode == -signal.SIGKILL
        assert weights(last)["step"] >= before  # loadable, never older
        assert not (last.parent / "last.ckpt.partial").exists() or weights(
            last
        )  # a stray partial is harmless
    resumed = cli(args, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert kills >= 1
    assert_identical(last, straight)


def weights_step(path: Path) -> int:
    try:
        return weights(path)["step"]
    except (RuntimeError, EOFError):  # being replaced this very moment: not yet
        return -1


def test_sigusr1_under_ddp_stops_every_rank_with_a_checkpoint(tmp_path):
    """SIGUSR1 to the launching process (rank 0) of a 2-process DDP run: every rank stops after one step."""
    args = ["trainer=ddp_cpu", *RUN, "train.steps=1000000", "checkpoint.every=50", "hydra.run.dir=run"]
    process = subprocess.Popen([sys.executable, "-m", "gan_lab", *args], cwd=tmp_path, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (tmp_path / "run/checkpoints/last.ckpt").exists():
        time.sleep(0.2)  # the first checkpoint, at step 50: both ranks are training
    process.send_signal(signal.SIGUSR1)
    try:
        output, _ = process.communicate(timeout=120)  # a deadlocked rank would hang here
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # both ranks
        raise
    assert process.returncode == 1, output[-3000:]
    assert output.count("gan_lab: stopped by SIGUSR1 at step") == 1  # said once, by rank zero
    step = int(output.split("gan_lab: stopped by SIGUSR1 at step ")[1].split(";")[0])
    assert weights(tmp_path / "run/checkpoints/last.ckpt")["step"] == step > 50  # the stop's own checkpoint
