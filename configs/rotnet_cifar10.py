r"""RotNet on CIFAR-10, the paper's recipe (Gidaris et al., 2018).

  python launch.py --config configs/rotnet_cifar10.py --workdir /tmp/rotnet_cifar10 \
      --config.data_dir=~/tensorflow_datasets

Paper figures (CIFAR-10, NIN): a conv classifier on frozen RotNet features 91.16%, fine-tuned 92.17%, supervised NIN
92.80%. This project has no NIN; the encoder here is the CIFAR ResNet-18, with the MLP rotation head, and the
evaluation is the project's representation report (logistic-regression probe, kNN, k-means NMI, t-SNE) plus
rotation_accuracy and the random-init probe.

Recipe: SGD Nesterov (momentum 0.9), lr 0.1 multiplied by 0.2 at epochs 60, 120 and 160 of 200, weight decay 5e-4
(kernels), batch 128 images, each seen at all four rotations in the same batch (512 examples per step); flip +
±4 px shift before rotating. Needs the data prepared: `tfds build cifar10 --data_dir DIR` on a machine with internet.
"""

from ssljax import config_base

EPOCHS = 200
TRAIN_IMAGES = 50_000
BATCH = 128


def get_config():
  config = config_base.common(
    method="rotnet",
    dataset="cifar10",
    model="resnet18",
    num_labels=4000,
    total_steps=EPOCHS * TRAIN_IMAGES // BATCH,
    batch_size=BATCH,
    eval_every=10_000,
    checkpoint_every=2_000,
    log_every=200,
    optimizer="sgd",
    lr=0.1,
    momentum=0.9,
    nesterov=True,
    weight_decay=5e-4,
    schedule="steps",
  )
  config.lr_decay_at = (60 / EPOCHS, 120 / EPOCHS, 160 / EPOCHS)
  config.lr_decay_factor = 0.2
  config.model_kwargs.bn_momentum = 0.9
  config.head = "mlp"
  config.head_hidden_dim = 0
  config.probe_layers = ()
  config.augment = config_base.augment(weak_shift=4.0, weak_noise=0.0)
  return config_base.pretraining(config)
