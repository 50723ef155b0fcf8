# From the repository root: the second search at D = ¼ (seed 100, 6,000 steps, 4 cells), one process,
# beside the other size's; then the table. Run the first line again to resume (ckpt_path=last).
experiments/pacgan_stacked_recipe/search2.sh quarter runs/s2stack_quarter 6000 ../shared/data/mnist
python -m gan_lab.report runs/s2stack_quarter/pack1 runs/s2stack_quarter/pack4 --out experiments/pacgan_stacked_recipe/search2_quarter \
  --metrics modes_captured kl_stacked
