# From the repository root: the second search at D = ½ (seed 100, 6,000 steps, 4 cells), one process,
# beside the other size's; then the table. Run the first line again to resume (ckpt_path=last).
experiments/pacgan_stacked_recipe/search2.sh half runs/s2stack_half 6000 ../shared/data/mnist
python -m gan_lab.report runs/s2stack_half/pack1 runs/s2stack_half/pack3 --out experiments/pacgan_stacked_recipe/search2_half \
  --metrics modes_captured kl_stacked
