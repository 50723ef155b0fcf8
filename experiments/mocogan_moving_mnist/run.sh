#!/bin/bash
# Issue 15: the MoCoGAN reference run on Moving MNIST (experiment=mocogan_moving_mnist as it ships: 16-frame
# clips at 32x32, width 32, batch 32, 2,000 steps, metrics=video every 500 steps), then the
# baselines scored the same way: real test clips, static clips (the generator's first frames held) and
# shuffled real clips. Run again to resume (ckpt_path=last).
# Usage: experiments/mocogan_moving_mnist/run.sh OUT_DIR [MNIST_ROOT]
set -euo pipefail
out=$1 root=${2:-../shared/data/mnist}
python -m gan_lab experiment=mocogan_moving_mnist dataset.root="$root" dataset.download=false \
  hydra.run.dir="$out" ckpt_path=last
for source in test_split static shuffled; do
  python -m gan_lab.cli.evaluate ckpt="$out/checkpoints/last.ckpt" source=$source dataset.root="$root"
done
python -m gan_lab.cli.generate ckpt="$out/checkpoints/last.ckpt" n=8 out="$out/clips.png"
python -m gan_lab.cli.generate mode=content_motion ckpt="$out/checkpoints/last.ckpt" n=6 out="$out/factors.png"
