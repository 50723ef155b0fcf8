#!/bin/bash
# Issue 14 §1, the third search: the length as an axis. §5's recipe (least squares, Adam lr_G 1.23e-4, lr_D
# 9.66e-4, betas (0, 0.9), cosine decay to 0 at the last step, R1 on D) at 10,000, 20,000 and 40,000 steps x
# R1's gamma 1 (§5's) and 0.1, on seed 101 (not a reported seed, and not the earlier searches' 100). A grid,
# not an Optuna study: 6 cells, every one run, so the table shows how high quality moves with the length.
# The cell is picked by the rule of the second search: all modes, then the higher high-quality share, then
# the lower KL. One process per mixture, one torch thread each, so the two run side by side (about an hour
# each on a 2-core CPU). Run again to resume (ckpt_path=last).
# Usage: experiments/pacgan_mixtures_recipe/search3.sh grid|ring OUT_DIR [more overrides]
set -euo pipefail
mixture=$1 out=$2
shift 2
case $mixture in grid|ring) ;; *) echo "mixture: grid or ring" >&2; exit 2 ;; esac
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab --multirun experiment=pacgan_$mixture seed=101 \
  logger=none train.steps=10000,20000,40000 eval.every=2000 samples.every=10000 checkpoint.every=2000 \
  ckpt_path=last loss=least_squares system.optimizers.generator.lr=1.227e-4 \
  system.optimizers.discriminator.lr=9.658e-4 'system.optimizers.generator.betas=[0.0,0.9]' \
  system.lr_decay=cosine penalty=r1 system.penalty.weight=1.0,0.1 hydra.sweep.dir="$out/$mixture" "$@"
