#!/bin/bash
# Issue 14 §1, the third search: the length as an axis. §5's recipe (trials.sh's: least squares, Adam lr_G
# 1.23e-4, lr_D 9.66e-4, betas (0, 0.9), cosine decay to 0 at the last step; with R1 on D) at 10,000, 20,000 and
# 40,000 steps x R1's gamma 1 (§5's) and 0.1, on seed 101 (not a reported seed, and not the earlier searches'
# 100). A grid, not an Optuna study: 6 cells, every one run, so the table shows how high quality moves with the
# length. The cell is picked by the rule of the second search: all modes, then the higher high-quality share,
# then the lower KL. One process per mixture, one torch thread each, so the two run side by side (about an hour
# each on a 2-core CPU). Run again to resume (ckpt_path=last). The overrides below replace trials.sh's seeds,
# length and cadence (Hydra takes the last value given for a key).
# Usage: experiments/pacgan_mixtures_recipe/search3.sh grid|ring OUT_DIR [more overrides]
set -euo pipefail
mixture=$1 out=$2
shift 2
case $mixture in grid|ring) ;; *) echo "mixture: grid or ring" >&2; exit 2 ;; esac
"$(dirname "$0")/trials.sh" "$mixture" "$out/$mixture" seed=101 train.steps=10000,20000,40000 \
  eval.every=2000 checkpoint.every=2000 ckpt_path=last penalty=r1 system.penalty.weight=1.0,0.1 "$@"
