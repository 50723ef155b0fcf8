OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -m gan_lab --multirun seed=100 logger=none eval.every=1000 samples.every=null checkpoint.every=null \
  hydra/sweeper=optuna hydra.sweeper.direction=maximize hydra.sweeper.n_trials=30 hydra.sweeper.n_jobs=1 \
  eval.objective=high_quality_pct hydra.sweeper.sampler.seed=0 hydra.sweep.dir=multiruns/search_quickstart \
  'train.steps=choice(3000,6000)' 'dataset.batch_size=choice(64,128,256,512)' \
  'system.nets.g_hidden=choice(128,256)' 'system.nets.d_hidden=choice(128,256)' \
  'loss=choice(non_saturating,hinge,least_squares)' 'system.n_critic=choice(1,2)' \
  'system.optimizers.generator.lr=tag(log,interval(5e-5,2e-3))' \
  'system.optimizers.discriminator.lr=tag(log,interval(5e-5,2e-3))' \
  'system.optimizers.generator.betas=choice([0.0,0.9],[0.5,0.999],[0.8,0.999])' \
  'system.lr_decay=choice(constant,cosine)'
