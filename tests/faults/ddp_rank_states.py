"""`python ddp_rank_states.py [overrides]`: `python -m gan_lab [overrides]` where every process, at the end of
training, writes what it holds (weights, EMA, every optimizer's state, its step) to `rank_<N>.pt` in the
run folder. Lightning starts the other ranks with this same script, so each of them writes its own."""

import sys
from pathlib import Path

import torch
from pytorch_lightning.callbacks import Callback

from gan_lab.cli.train import main
from gan_lab.training import run


class WriteRankState(Callback):
    def on_train_end(self, trainer, pl_module) -> None:
        state = {
            "state_dict": {k: v.detach().cpu() for k, v in pl_module.state_dict().items()},
            "optimizers": [opt.state_dict() for opt in pl_module.named_optimizers().values()],
            "steps_done": pl_module.steps_done,
        }
        torch.save(state, Path(trainer.default_root_dir) / f"rank_{trainer.global_rank}.pt")


build_trainer = run.build_trainer


def with_rank_states(cfg, callbacks, logger, out):
    return build_trainer(cfg, [*callbacks, WriteRankState()], logger, out)


run.build_trainer = with_rank_states
sys.argv = [sys.argv[0], *sys.argv[1:]]
main()
