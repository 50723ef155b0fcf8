"""The shared layers (spectral norm, minibatch std, packing, maxout) and the generator EMA."""

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from gan_lab.errors import ConfigError
from gan_lab.nets.ema import EMA, ema_copy
from gan_lab.nets.layers import Maxout, MinibatchStd, Pack, spectral_norm_all


def small_discriminator() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 8, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(8, 16, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        Maxout(16 * 2 * 2, 12, 3),
        nn.Linear(12, 1),
    )


def top_singular_value(weight: torch.Tensor) -> float:
    return torch.linalg.matrix_norm(weight.detach().flatten(1), ord=2).item()


def test_spectral_norm_all_brings_every_layer_to_spectral_norm_one():
    torch.manual_seed(0)
    net = small_discriminator()
    layers = [net[0], net[2], net[5].linear, net[6]]
    for layer in layers:
        layer.weight.data.mul_(5.0)  # far from 1 before
    assert spectral_norm_all(net) is net
    assert all(parametrize.is_parametrized(layer, "weight") for layer in layers)
    spectral_norm_all(net)  # twice is harmless: one parametrization each
    assert all(len(layer.parametrizations.weight) == 1 for layer in layers)
    net.train()
    x = torch.randn(8, 3, 8, 8)
    for _ in range(30):
        net(x)
    net.eval()  # reading the weight in train mode would run one more power iteration
    for layer in layers:
        assert abs(top_singular_value(layer.weight) - 1.0) < 0.05
        assert top_singular_value(layer.parametrizations.weight.original) > 2.0  # the trained weight


def test_spectral_norm_all_state_dict_round_trips_into_a_fresh_copy():
    torch.manual_seed(0)
    net = spectral_norm_all(small_discriminator())
    for _ in range(3):
        net(torch.randn(4, 3, 8, 8))
    state = net.state_dict()
    assert "5.linear.parametrizations.weight.original" in state and "5.linear.bias" in state
    assert "0.parametrizations.weight.0._u" in state
    fresh = spectral_norm_all(small_discriminator())
    fresh.load_state_dict(state)
    net.eval(), fresh.eval()
    x = torch.randn(4, 3, 8, 8)
    torch.testing.assert_close(fresh(x), net(x), rtol=0, atol=0)
    torch.testing.assert_close(copy.deepcopy(net)(x), net(x), rtol=0, atol=0)


def test_spectral_norm_all_normalizes_the_projection_embedding_but_not_batch_norm():
    torch.manual_seed(0)
    net = nn.ModuleDict({"head": nn.Linear(6, 1), "embed": nn.Embedding(10, 6), "norm": nn.BatchNorm1d(6)})
    nn.init.normal_(net["embed"].weight, 0.0, 0.02)
    spectral_norm_all(net)
    assert parametrize.is_parametrized(net["embed"], "weight")  # as SNGAN-projection and StudioGAN do
    assert not parametrize.is_parametrized(net["norm"])
    net.train()
    for _ in range(30):
        net["embed"](torch.arange(10))
    net.eval()
    assert abs(top_singular_value(net["embed"].weight) - 1.0) < 0.05


def test_maxout_keeps_its_state_dict_keys_and_takes_the_largest_piece():
    layer = Maxout(2, 3, 4)
    assert list(layer.state_dict()) == ["linear.weight", "linear.bias"]
    x = torch.randn(5, 2)
    expected = layer.linear(x).view(5, 3, 4).max(dim=2).values
    torch.testing.assert_close(layer(x), expected)


def test_minibatch_std_matches_a_hand_computation():
    values = torch.tensor([1.0, 2.0, 4.0, 7.0])
    x = values.view(4, 1, 1, 1)
    out = MinibatchStd(group_size=4)(x)
    assert out.shape == (4, 2, 1, 1)
    torch.testing.assert_close(out[:, :1], x)
    mean = values.mean()  # 3.5
    std = ((values - mean).square().mean() + 1e-8).sqrt()  # population std: sqrt(5.25)
    torch.testing.assert_close(out[:, 1].flatten(), std.expand(4))
    assert abs(std.item() - 5.25**0.5) < 1e-6


def test_minibatch_std_images_groups_and_channels():
    torch.manual_seed(0)
    x = torch.randn(8, 6, 5, 5)
    layer = MinibatchStd(group_size=4, num_channels=2)
    assert layer.extra_channels == 2
    out = layer(x)
    assert out.shape == (8, 8, 5, 5)
    torch.testing.assert_close(out[:, :6], x)
    extra = out[:, 6:]
    assert torch.equal(extra, extra[:, :, :1, :1].expand_as(extra))  # constant over positions
    # Groups as stylegan2-ada: sample i in group i mod (B / G); channel group f holds channels 3f..3f+2.
    for sample in range(8):
        group = x[sample % 2 :: 2]
        for f in range(2):
            chunk = group[:, 3 * f : 3 * f + 3]
            std = ((chunk - chunk.mean(0)).square().mean(0) + 1e-8).sqrt().mean()
            torch.testing.assert_close(extra[sample, f, 0, 0], std)
    assert MinibatchStd(group_size=16)(x).shape == (8, 7, 5, 5)  # G = min(group_size, B)


def test_minibatch_std_features():
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    out = MinibatchStd(group_size=3)(x)
    assert out.shape == (6, 5)
    torch.testing.assert_close(out[:, :4], x)
    group = x[0::2]
    expected = ((group - group.mean(0)).square().mean(0) + 1e-8).sqrt().mean()
    torch.testing.assert_close(out[0, 4], expected)
    torch.testing.assert_close(out[4, 4], expected)


def test_minibatch_std_refuses_a_batch_the_groups_do_not_divide():
    with pytest.raises(ValueError, match=r"batch of 6.*dataset.batch_size"):
        MinibatchStd(group_size=4)(torch.randn(6, 2, 3, 3))


def test_pack_joins_consecutive_samples():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 4, 4)
    out = Pack(2)(x)
    assert out.shape == (3, 6, 4, 4)
    torch.testing.assert_close(out[0, :3], x[0])
    torch.testing.assert_close(out[0, 3:], x[1])
    torch.testing.assert_close(out[2, 3:], x[5])
    points = torch.randn(8, 2)
    packed = Pack(4)(points)
    assert packed.shape == (2, 8)
    torch.testing.assert_close(packed[1], points[4:].flatten())
    assert Pack(1)(x) is x


def test_pack_refuses_a_batch_it_does_not_divide():
    with pytest.raises(ValueError, match=r"system.nets.pack=4.*batch of 6.*dataset.batch_size"):
        Pack(4)(torch.randn(6, 2))


def _set_weights(net: nn.Module, value: float) -> None:
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(value)


def test_ema_matches_the_closed_form():
    torch.manual_seed(0)
    net = nn.Linear(3, 2)
    ema_net = ema_copy(net)
    assert not any(p.requires_grad for p in ema_net.parameters())
    e0 = {name: p.detach().double().clone() for name, p in ema_net.named_parameters()}
    beta, steps = 0.9, [0.5, -1.0, 2.0, 0.25]
    ema = EMA(decay=beta)
    for step, value in enumerate(steps, start=1):
        _set_weights(net, value)
        ema.update(ema_net, net, step=step, batch_size=64)
    k = len(steps)
    tail = sum((1 - beta) * beta ** (k - i) * p for i, p in enumerate(steps, start=1))
    for name, p_ema in ema_net.named_parameters():
        expected = beta**k * e0[name] + tail
        torch.testing.assert_close(p_ema.double(), expected, rtol=0, atol=1e-6)


def test_ema_copies_until_start_step():
    net = nn.Linear(3, 2)
    ema_net = ema_copy(net)
    ema = EMA(decay=0.5, start_step=2)
    for step, value in [(1, 1.0), (2, 3.0)]:
        _set_weights(net, value)
        ema.update(ema_net, net, step=step, batch_size=8)
        assert all(
            torch.equal(p_ema, p) for p_ema, p in zip(ema_net.parameters(), net.parameters(), strict=True)
        )
    _set_weights(net, 5.0)
    ema.update(ema_net, net, step=3, batch_size=8)
    assert all(torch.allclose(p, torch.full_like(p, 4.0)) for p in ema_net.parameters())


def test_ema_half_life():
    assert EMA(half_life_images=32).beta(batch_size=32) == 0.5
    assert EMA(half_life_images=64).beta(batch_size=32) == pytest.approx(0.5**0.5)
    assert EMA(decay=0.99).beta(batch_size=1000) == 0.99


def test_ema_copies_buffers():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema_net = ema_copy(net)
    with torch.no_grad():
        net[1].running_mean.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
        net[1].running_var.fill_(7.0)
    net[1].num_batches_tracked.fill_(9)
    EMA(decay=0.999).update(ema_net, net, step=10, batch_size=8)
    for name, buffer in net.named_buffers():
        assert torch.equal(dict(ema_net.named_buffers())[name], buffer)


def test_ema_averages_the_original_weight_of_a_spectrally_normalized_layer():
    torch.manual_seed(0)
    net = spectral_norm_all(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)))
    ema_net = ema_copy(net)
    before = ema_net[0].parametrizations.weight.original.clone()
    with torch.no_grad():
        net[0].parametrizations.weight.original.fill_(2.0)
    net(torch.randn(5, 4))  # a power iteration: the live u, v move
    EMA(decay=0.75).update(ema_net, net, step=1, batch_size=8)
    torch.testing.assert_close(ema_net[0].parametrizations.weight.original, 0.75 * before + 0.25 * 2.0)
    torch.testing.assert_close(ema_net[0].parametrizations.weight[0]._u, net[0].parametrizations.weight[0]._u)
    ema_net.eval(), net.eval()
    assert torch.isfinite(ema_net(torch.randn(5, 4))).all()


@pytest.mark.parametrize(
    "settings,key",
    [
        ({}, "ema.decay"),
        ({"decay": 0.9, "half_life_images": 10.0}, "ema.half_life_images"),
        ({"decay": 1.0}, "ema.decay"),
        ({"decay": 0.0}, "ema.decay"),
        ({"half_life_images": 0.0}, "ema.half_life_images"),
        ({"decay": 0.9, "start_step": -1}, "ema.start_step"),
    ],
)
def test_ema_refuses_bad_settings(settings, key):
    with pytest.raises(ConfigError, match=key):
        EMA(**settings)
