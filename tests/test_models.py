import pytest
import torch

from gan_lab.errors import ConfigError
from gan_lab.nets.cnn import CNNClassifier
from gan_lab.nets.dcgan import dcgan
from gan_lab.nets.metz import metz_small
from gan_lab.nets.mlp import mlp_gan


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_dcgan_64_matches_pytorch_examples_parameter_counts():
    # pytorch/examples dcgan/main.py with nz=100, ngf=ndf=64, nc=3.
    nets = dcgan((3, 64, 64), nz=100, ngf=64, ndf=64)
    assert count(nets.generator) == 3_576_704
    assert count(nets.discriminator) == 2_765_568


def test_dcgan_64_layers_match_pytorch_examples():
    nets = dcgan((3, 64, 64))
    convs = [m for m in nets.generator.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels, c.stride[0]) for c in convs] == [
        (100, 512, 1), (512, 256, 2), (256, 128, 2), (128, 64, 2), (64, 3, 2)
    ]  # fmt: skip
    batch_norms = [m for m in nets.discriminator.main if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(batch_norms) == 3  # none on D's input layer
    assert isinstance(nets.generator.main[-1], torch.nn.Tanh)


@pytest.mark.parametrize("size", [28, 32, 64, 128])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes(size, channels):
    nets = dcgan((channels, size, size), ngf=8, ndf=8)
    fake = nets.generator(torch.randn(4, 100))
    assert fake.shape == (4, channels, size, size)
    assert fake.abs().max() <= 1
    assert nets.discriminator(fake).shape == (4,)


def test_dcgan_weights_follow_the_paper_init():
    nets = dcgan((3, 64, 64))
    weight = nets.generator.main[0].weight
    assert abs(weight.mean().item()) < 1e-3 and abs(weight.std().item() - 0.02) < 1e-3


def test_dcgan_rejects_an_unsupported_image_size_naming_the_key():
    with pytest.raises(ConfigError, match=r"dataset.image_size=48.*28, 32, 64, 128"):
        dcgan((3, 48, 48))


def test_discriminators_return_logits_not_probabilities():
    torch.manual_seed(0)
    nets = mlp_gan((2,), nz=2)
    logits = nets.discriminator(100 * torch.randn(256, 2))
    assert logits.shape == (256,) and (logits.min() < 0 or logits.max() > 1)


def test_mlp_gan_makes_images_in_range_and_points_unbounded():
    images = mlp_gan((1, 28, 28), nz=16).generator(torch.randn(3, 16))
    assert images.shape == (3, 1, 28, 28) and images.abs().max() <= 1
    assert mlp_gan((2,)).generator(torch.randn(5, 2)).shape == (5, 2)


def test_classifier_exposes_its_feature_layer():
    net = CNNClassifier((1, 28, 28), num_classes=10, feature_dim=64)
    x = torch.randn(2, 1, 28, 28)
    assert net.features(x).shape == (2, 64)
    assert net(x).shape == (2, 10)
    with pytest.raises(ConfigError, match="model=cnn_classifier needs a labelled dataset"):
        CNNClassifier((3, 64, 64), num_classes=None)  # e.g. an unlabelled image folder


@pytest.mark.parametrize(("d_width", "pack"), [(4, 1), (2, 1), (4, 3)])
def test_metz_small_pair_has_the_papers_shapes(d_width, pack):
    nets = metz_small((3, 28, 28), d_width=d_width, pack=pack)
    fake = nets.generator(torch.randn(6, 256))
    assert nets.nz == 256 and fake.shape == (6, 3, 28, 28) and fake.abs().max() <= 1
    convs = [m for m in nets.discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [d_width, 2 * d_width, 4 * d_width]
    assert convs[0].in_channels == 3 * pack and all(c.kernel_size == (3, 3) for c in convs)
    leaky = [m.negative_slope for m in nets.discriminator.modules() if isinstance(m, torch.nn.LeakyReLU)]
    assert leaky == [0.3] * 3
    deconvs = [m.out_channels for m in nets.generator.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert deconvs == [32, 16, 8]
    assert nets.discriminator(fake).shape == (6 // pack,)


def test_metz_small_refuses_other_image_sizes_in_one_line():
    with pytest.raises(
        ConfigError, match=r"model=metz_small is built for 28x28 images .* dataset.image_size=28"
    ):
        metz_small((3, 32, 32))
