#!/bin/bash
# Issue 14 §1: the searched recipe's reported trials, seeds 0-9, on PacGAN's 2D protocol (networks, data, batch
# 100, evaluation unchanged) at 10,000 steps. The recipe is the search's trial 4 on both mixtures (search.sh):
# least-squares loss, Adam lr_G 1.23e-4, lr_D 9.66e-4, betas (0, 0.9), cosine decay to 0 at the last step.
# Usage: experiments/pacgan_mixtures_recipe/trials.sh grid|ring SWEEP_DIR [more overrides]
set -euo pipefail
mixture=$1 dir=$2
shift 2
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab --multirun experiment=pacgan_$mixture 'seed=range(0,10)' \
  logger=none train.steps=10000 eval.every=1000 samples.every=10000 checkpoint.every=5000 hydra.sweep.dir="$dir" \
  loss=least_squares system.optimizers.generator.lr=1.227e-4 system.optimizers.discriminator.lr=9.658e-4 \
  'system.optimizers.generator.betas=[0.0,0.9]' system.lr_decay=cosine "$@"
