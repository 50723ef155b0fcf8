#!/bin/bash
# Issue 16: the reference runs of both translation experiments, side by side with one torch thread each,
# metrics=translation every STEPS/4 steps (FID/KID x 100 against the target test images, domain accuracy or
# attribute flip, cycle L1, PSNR, SSIM), then the three baselines scored by the same metrics on each run's
# checkpoint. Run again to resume: ckpt_path=last goes on from each run folder's last.ckpt, and the baselines
# are scored again (they do not depend on the run's weights).
# Usage: experiments/cyclegan/reference.sh OUT_DIR [STEPS] [DATA_DIR]
#   e.g. experiments/cyclegan/reference.sh runs/cyclegan 10000 ../shared/data
# About 4-5 CPU-seconds per step and run here (width 32, batch 8, two runs on two cores).
set -euo pipefail
out=$1 steps=${2:-10000} data=${3:-../shared/data}
mkdir -p "$out"
for experiment in cyclegan_selfie2anime cyclegan_smiling; do
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab experiment=$experiment data_dir="$data" \
    train.steps="$steps" eval.every=$((steps / 4)) hydra.run.dir="$out/$experiment" ckpt_path=last \
    > "$out/$experiment.log" 2>&1 &
done
wait
for experiment in cyclegan_selfie2anime cyclegan_smiling; do
  for source in identity histogram nearest; do
    OMP_NUM_THREADS=1 python -m gan_lab.cli.evaluate ckpt="$out/$experiment/checkpoints/last.ckpt" \
      source=$source >> "$out/$experiment.baselines.log" 2>&1
  done
done
