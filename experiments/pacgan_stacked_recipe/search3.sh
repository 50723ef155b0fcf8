#!/bin/bash
# Issue 14 §2, the third search: a penalty that holds the modes once found, with the length as an axis. §3's
# recipe (trials.sh `recipe`: least squares, lr_G 2.52e-4, lr_D 1.92e-3, betas (0.5, 0.99), joint batches, EMA
# of G) with R1 on D (gamma 1 and 0.1: R1 held the 2D mixtures' modes, pacgan_mixtures_recipe §4-5) x 3,000,
# 6,000 and 12,000 steps, on seed 101 (not a reported seed, and not the earlier searches' 100), scored every
# 1,500 steps on 10,000 samples (the reported trials use the protocol's 25,600). A grid, not an Optuna study:
# 6 cells, every one run, so the table shows how the modes move with the length. The cell is picked by the
# most modes at the last step, then the lower KL. One process per size, one torch thread each, so the two run
# side by side. Run again to resume (ckpt_path=last).
# Usage: experiments/pacgan_stacked_recipe/search3.sh half|quarter OUT_DIR [MNIST_DIR] [more overrides]
set -euo pipefail
size=$1 out=$2 mnist=${3:-../shared/data/mnist}
shift $(($# < 3 ? $# : 3))
case $size in half|quarter) ;; *) echo "size: half or quarter" >&2; exit 2 ;; esac
"$(dirname "$0")/trials.sh" "$size" recipe "$out/$size" 3000 "$mnist" seed=101 train.steps=3000,6000,12000 \
  eval.every=1500 samples.every=1500 metrics.num_samples=10000 penalty=r1 system.penalty.weight=1.0,0.1 "$@"
