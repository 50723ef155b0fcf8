# From the repository root: the second search on the ring, R1's cells only (the grid's lead; no packing, no EMA),
# at gamma 1 (the grid's) and 0.1 (the ring's modes are 5x narrower than the grid's), seed 100, then its table.
# The pick, stated before the runs: all 8 modes, then the higher high-quality share, then the lower KL.
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab --multirun experiment=pacgan_ring seed=100 \
  logger=none train.steps=10000 eval.every=1000 samples.every=10000 checkpoint.every=2500 ckpt_path=last \
  loss=least_squares system.optimizers.generator.lr=1.227e-4 system.optimizers.discriminator.lr=9.658e-4 \
  "system.optimizers.generator.betas=[0.0,0.9]" system.lr_decay=cosine \
  system.nets.pack=1 dataset.batch_size=100 penalty=r1 "system.penalty.weight=1.0,0.1" ema=none \
  hydra.sweep.dir=runs/search2_ring/pack1_r1
python -m gan_lab.report runs/search2_ring/pack1_r1 \
  --out experiments/pacgan_mixtures_recipe/search2_ring --metrics modes_captured high_quality_pct kl_modes
