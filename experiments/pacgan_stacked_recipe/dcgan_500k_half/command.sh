# From the repository root: one trial (seed 0) of the protocol's own DCGAN at D = 1/2 at the paper's full
# length, 500,000 steps: the check of the lab's plain DCGAN row against PacGAN's Table 3 (628.0 ± 140.9 modes,
# KL 2.58 over 50 trials), which the 3,000-step trials (§3) could not make. trials.sh's `dcgan` row as it ships
# (non-saturating loss, Adam lr_D 2e-4, lr_G 1e-4, betas (0.5, 0.99), no EMA), scored on the protocol's 25,600
# samples every 25,000 steps. Many CPU-hours here: the same line resumes it from its last.ckpt (ckpt_path=last),
# one session after another.
experiments/pacgan_stacked_recipe/trials.sh half dcgan runs/st500k/half 500000 ../shared/data/mnist seed=0 \
  eval.every=25000 samples.every=25000 checkpoint.every=2000
