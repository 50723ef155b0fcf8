# From the repository root: one PacGAN4 trial (seed 0) on the grid at the paper's full length, 400,000 steps,
# with the lab's packing: the check of the packing against PacGAN's Table 1 row (24.8 / 93.6% / 0.04), which
# §3's 10,000-step trials could not make. pacgan_row.sh's settings (experiment=pacgan_grid, D reads 4 samples
# joined, 100 D inputs per step so G's batch is 400), one run folder, one torch thread. Several CPU-hours here:
# the same line resumes it from its last.ckpt (ckpt_path=last), one session after another.
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab experiment=pacgan_grid seed=0 system.nets.pack=4 \
  dataset.batch_size=400 logger=none eval.every=10000 samples.every=50000 checkpoint.every=2000 ckpt_path=last \
  hydra.run.dir=runs/p4_400k/grid/0
