#!/bin/bash
# Issue 14 §2, the second search: the first search's recipe (trials.sh `recipe`: least squares, lr_G 2.52e-4,
# lr_D 1.92e-3, betas (0.5, 0.99), joint batches, EMA of G) with PacGAN's packing and a decaying rate switched on
# and off, 2 x 2 cells of STEPS steps on seed 100 (the reported trials use seeds 0-9), scored every STEPS/4 steps
# on 10,000 samples. Packing is PacGAN's best row for the size: PacDCGAN3 at D = ½, PacDCGAN4 at D = ¼, with
# G's batch 128 x m so that D still reads 128 packed inputs. One process per size, one torch thread each, so
# the two run side by side. Run again to resume (ckpt_path=last).
# Usage: experiments/pacgan_stacked_recipe/search2.sh half|quarter OUT_DIR [STEPS] [MNIST_DIR] [overrides]
set -euo pipefail
size=$1 out=$2 steps=${3:-6000} mnist=${4:-../shared/data/mnist}
shift $(($# < 4 ? $# : 4))
case $size in half) width=4 pack=3 ;; quarter) width=2 pack=4 ;; *) echo "size: half or quarter" >&2; exit 2 ;; esac
for m in 1 $pack; do
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab --multirun experiment=pacgan_stacked_mnist seed=100 \
    dataset.root="$mnist" system.nets.d_width=$width metrics.num_samples=10000 logger=none \
    train.steps="$steps" eval.every=$((steps / 4)) samples.every="$steps" checkpoint.every=1000 ckpt_path=last \
    loss=least_squares system.optimizers.generator.lr=2.521e-4 system.optimizers.discriminator.lr=1.916e-3 \
    system.joint_batches=true ema=default system.nets.pack=$m dataset.batch_size=$((128 * m)) \
    'system.lr_decay=constant,cosine' hydra.sweep.dir="$out/pack$m" "$@"
done
