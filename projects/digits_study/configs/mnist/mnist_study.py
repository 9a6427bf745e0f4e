# The MNIST study's data and length, written once for every recipe here (each reads them as
# {{_base_.mnist_*}}): MNIST-5k, 1,800 steps of 64 (29 epochs of 4,000 images), the
# pretraining runs kept every 600 steps so that the study reads them at 10, 19 and 29; the
# length that lets run_study.sh --mnist finish in about 2 hours on 2 cores.
mnist_data_root = 'data/mnist'
mnist_max_iters = 1800
mnist_read_every = 600
mnist_param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=mnist_max_iters,
         T_max=mnist_max_iters - 100, eta_min=1e-5),
]
