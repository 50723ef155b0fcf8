#!/bin/bash
# Issue 14 §3: the dcgan_anime reference run (the modern recipe, the experiment's default) and the classic
# recipe beside it at equal steps: 10,000 steps each on anime-faces-16k, bf16 on CPU, the metrics (encoder
# FID/KID/precision/recall, 10,000 samples) every 1,000 steps. The two run side by side, one torch thread each,
# so their training clocks (train_time_s in metrics.json) are comparable. Run again to resume: ckpt_path=last
# goes on from each run folder's last.ckpt.
# Usage: experiments/dcgan_anime/reference.sh OUT_DIR [DATA_ROOT]
set -euo pipefail
out=$1 root=${2:-../shared/data/anime-faces-16k}
mkdir -p "$out"
for experiment in dcgan_anime dcgan_anime_classic; do
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab experiment=$experiment dataset.root="$root" \
    trainer.precision=bf16-mixed eval.every=1000 hydra.run.dir="$out/$experiment" ckpt_path=last \
    > "$out/$experiment.log" 2>&1 &
done
wait
