#!/bin/bash
# Issue 14 §2: the reported trials, seeds 0-9, on PacGAN's Table 3 protocol (Metz et al.'s small networks, data
# drawn on the fly, batch 128, 25,600 samples read by the bundled MNIST classifier) at STEPS steps, one torch
# thread. ROW is `recipe` (the search's best setting, search.sh; see README.md) or `dcgan` (the protocol's own
# DCGAN training: non-saturating loss, Adam lr_D 2e-4, lr_G 1e-4, betas (0.5, 0.99), no EMA).
# Run again to resume (ckpt_path=last: each job folder's last.ckpt). Overrides after MNIST_DIR come last, so
# they replace the ones here (Hydra takes the last value given for a key).
# Usage: experiments/pacgan_stacked_recipe/trials.sh half|quarter recipe|dcgan SWEEP_DIR [STEPS] [MNIST_DIR] [overrides]
set -euo pipefail
size=$1 row=$2 dir=$3 steps=${4:-3000} mnist=${5:-../shared/data/mnist}
shift $(($# < 5 ? $# : 5))
case $size in half) width=4 ;; quarter) width=2 ;; *) echo "size: half or quarter" >&2; exit 2 ;; esac
case $row in
  # search trial 3, the best on both sizes: least squares, lr_G 2.52e-4, lr_D 1.92e-3, betas (0.5, 0.99),
  # constant rate, D on real and fake in one call, samples from the EMA of G.
  recipe) recipe=(loss=least_squares system.optimizers.generator.lr=2.521e-4
                  system.optimizers.discriminator.lr=1.916e-3 system.joint_batches=true ema=default) ;;
  dcgan) recipe=() ;;
  *) echo "row: recipe or dcgan" >&2; exit 2 ;;
esac
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab --multirun experiment=pacgan_stacked_mnist \
  'seed=range(0,10)' dataset.root="$mnist" system.nets.d_width=$width logger=none train.steps="$steps" \
  eval.every="$steps" samples.every="$steps" checkpoint.every=1000 ckpt_path=last \
  hydra.sweep.dir="$dir" "${recipe[@]}" "$@"
