"""DDP keeps the ranks in step: after a `trainer=ddp_cpu` run every rank holds the same weights, EMA copy
and optimizer states. A phase that skipped a gradient reduction on one rank (a lazy penalty's step, say)
would let them drift apart without any error, so the run has the lazy R1 penalty and EMA on."""

import os
import subprocess
import sys
from pathlib import Path

import torch

FAULTS = Path(__file__).parent
# The quickstart MLP GAN on two CPU processes, with R1 every 2nd step and an EMA generator; 7 steps, so that
# the run ends on a step where the penalty ran (0, 2, 4, 6) and the other steps are in it too.
ARGS = ["trainer=ddp_cpu", "penalty=r1", "system.penalty.every=2", "ema=default", "system.ema.start_step=2",
        "train.steps=7", "samples.every=null", "metrics=none", "logger=none", "dataset.batch_size=32",
        "hydra.run.dir=out"]  # fmt: skip


def test_every_rank_ends_with_the_same_weights_ema_and_optimizer_states(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0"}
    script = FAULTS / "ddp_rank_states.py"  # `python -m gan_lab ARGS`, each rank writing what it holds
    result = subprocess.run([sys.executable, str(script), *ARGS], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    zero, one = (torch.load(tmp_path / "out" / f"rank_{r}.pt", weights_only=True) for r in (0, 1))
    assert zero["steps_done"] == one["steps_done"] == 7
    names = set(zero["state_dict"])
    assert any(n.startswith("generator_ema.") for n in names)  # the EMA copy is part of what is compared
    assert names == set(one["state_dict"])
    for name in sorted(names):
        assert torch.equal(zero["state_dict"][name], one["state_dict"][name]), name
    assert len(zero["optimizers"]) == len(one["optimizers"]) == 2  # G's and D's
    for a, b in zip(zero["optimizers"], one["optimizers"], strict=True):
        assert a["state"].keys() == b["state"].keys() and a["state"]  # Adam has moments for every weight
        for index, moments in a["state"].items():
            for key, value in moments.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["state"][index][key])), (
                    index,
                    key,
                )
    assert "cpu x 2" in result.stdout + result.stderr  # two processes did train
