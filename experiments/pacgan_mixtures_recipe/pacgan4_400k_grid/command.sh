# From the repository root: one PacGAN4 trial (seed 0) on the grid at the paper's full length, 400,000 steps,
# with the lab's packing: the check of the packing against PacGAN's Table 1 row (24.8 / 93.6% / 0.04), which
# §3's 10,000-step trials could not make. pacgan_row.sh's pack-4 settings, seed 0 only (job folder 0), scored
# every 10,000 steps. Several CPU-hours here: the same line resumes it from its last.ckpt (pacgan_row.sh passes
# ckpt_path=last), one session after another.
experiments/pacgan_mixtures_recipe/pacgan_row.sh grid 4 runs/p4_400k/grid 400000 seed=0 eval.every=10000 \
  samples.every=50000 checkpoint.every=2000
