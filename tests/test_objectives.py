"""gan_lab.objectives against hand computations: adversarial losses, gradient penalties, DiffAugment."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gan_lab.errors import ConfigError
from gan_lab.objectives import (
    R1,
    R2,
    DiffAugment,
    GradientPenalty,
    Hinge,
    LeastSquares,
    NonSaturating,
    Wasserstein,
)

REAL, FAKE = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 3.0])
LOSSES = [NonSaturating(), Hinge(), Wasserstein(), LeastSquares()]


def softplus(v: float) -> float:
    return math.log1p(math.exp(v))


# --- adversarial losses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "d", "g"),
    [
        # D: mean softplus(-real) + mean softplus(fake); G: mean softplus(-fake)
        (
            NonSaturating(),
            (softplus(-1) + softplus(2)) / 2 + (softplus(0.5) + softplus(3)) / 2,
            (softplus(-0.5) + softplus(-3)) / 2,
        ),
        # D: mean relu(1 - real) = (0 + 3) / 2, mean relu(1 + fake) = (1.5 + 4) / 2; G: -mean fake
        (Hinge(), 1.5 + 2.75, -1.75),
        # D: mean fake - mean real = 1.75 - (-0.5); G: -mean fake
        (Wasserstein(), 2.25, -1.75),
        # D: 0.5 * mean (0, 9) + 0.5 * mean (0.25, 9); G: 0.5 * mean (0.25, 4)
        (LeastSquares(), 2.25 + 2.3125, 1.0625),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, float) else "",
)
def test_loss_values_match_hand_computation(loss, d: float, g: float) -> None:
    assert loss.discriminator(REAL, FAKE).item() == pytest.approx(d, abs=1e-6)
    assert loss.generator(FAKE).item() == pytest.approx(g, abs=1e-6)


def test_non_saturating_is_bit_identical_to_bce() -> None:
    real, fake = torch.randn(16), torch.randn(16)
    ones, zeros = torch.ones_like(real), torch.zeros_like(fake)
    d = F.binary_cross_entropy_with_logits(real, ones) + F.binary_cross_entropy_with_logits(fake, zeros)
    assert torch.equal(NonSaturating().discriminator(real, fake), d)
    g = F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    assert torch.equal(NonSaturating().generator(fake), g)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: type(loss).__name__)
def test_patch_map_is_the_mean_over_its_elements(loss) -> None:
    real, fake = torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4)
    flat = loss.discriminator(real.flatten(), fake.flatten())
    assert loss.discriminator(real, fake).item() == pytest.approx(flat.item(), abs=1e-6)
    assert loss.generator(fake).item() == pytest.approx(loss.generator(fake.flatten()).item(), abs=1e-6)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: type(loss).__name__)
def test_heads_losses_are_summed(loss) -> None:
    frame_real, frame_fake = torch.randn(4), torch.randn(4)
    clip_real, clip_fake = torch.randn(4, 1, 2, 2), torch.randn(4, 1, 2, 2)
    d = loss.discriminator(frame_real, frame_fake) + loss.discriminator(clip_real, clip_fake)
    g = loss.generator(frame_fake) + loss.generator(clip_fake)
    as_list = loss.discriminator([frame_real, clip_real], [frame_fake, clip_fake])
    as_dict = loss.discriminator(
        {"frame": frame_real, "clip": clip_real}, {"frame": frame_fake, "clip": clip_fake}
    )
    assert as_list.item() == pytest.approx(d.item(), abs=1e-6)
    assert as_dict.item() == pytest.approx(d.item(), abs=1e-6)
    as_dict = loss.generator({"frame": frame_fake, "clip": clip_fake})
    assert as_dict.item() == pytest.approx(g.item(), abs=1e-6)


def test_score_is_the_probability_for_non_saturating_and_the_raw_value_otherwise() -> None:
    logits = REAL.clone().requires_grad_(True)
    ns = NonSaturating().score(logits)
    assert ns.item() == pytest.approx((1 / (1 + math.exp(-1)) + 1 / (1 + math.exp(2))) / 2)
    assert not ns.requires_grad and ns.dtype == torch.float32
    assert Hinge().score(logits).item() == pytest.approx(-0.5)
    assert Wasserstein().score([FAKE, FAKE + 1]).item() == pytest.approx((1.75 + 2.75) / 2)


@pytest.mark.parametrize("loss", LOSSES, ids=lambda loss: type(loss).__name__)
def test_losses_are_float32_under_bf16_logits(loss) -> None:
    real, fake = REAL.bfloat16(), FAKE.bfloat16()
    assert loss.discriminator(real, fake).dtype == torch.float32
    assert loss.generator(fake).dtype == torch.float32
    # these logits are exact in bf16, so the value is the fp32 one
    assert loss.discriminator(real, fake).item() == pytest.approx(loss.discriminator(REAL, FAKE).item())


# --- gradient penalties ------------------------------------------------------------------------------------


def linear_d(w: Tensor):
    """D(x) = sum(w * x) per sample: ∇_x D = w for every sample."""
    return lambda x: (w * x).flatten(1).sum(1)


def test_r1_of_a_linear_d_is_half_the_squared_weight_norm() -> None:
    w = torch.tensor([[[1.0, 2.0], [-2.0, 0.0]]])  # ||w||^2 = 9
    real, fake = torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2)
    assert R1().value(linear_d(w), real, fake).item() == pytest.approx(4.5)


def test_r1_sums_the_heads_before_differentiating() -> None:
    w1, w2 = torch.full((3, 2, 2), 1.0), torch.full((3, 2, 2), 2.0)  # ∇ = w1 + w2 = 3 everywhere, 12 pixels

    def two_heads(x: Tensor) -> dict[str, Tensor]:
        return {"frame": linear_d(w1)(x), "clip": linear_d(w2)(x)[:, None, None]}

    real = torch.randn(2, 3, 2, 2)
    assert R1().value(two_heads, real, real).item() == pytest.approx(0.5 * 12 * 9)


def test_r1_of_a_nonlinear_d_matches_the_analytic_gradient() -> None:
    """D(x) = sum sin(x) * x per sample: ∇ = cos(x) x + sin(x), different for each sample."""
    real = torch.randn(4, 3, 5, 5)
    grad = torch.cos(real) * real + torch.sin(real)
    expected = 0.5 * grad.pow(2).flatten(1).sum(1).mean()
    value = R1().value(lambda x: (torch.sin(x) * x).flatten(1).sum(1), real, torch.zeros_like(real))
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)


def test_r2_uses_the_fakes() -> None:
    """D(x) = sum x^2 per sample: ∇ = 2x, so R2 = 0.5 * mean ||2 fake||^2 and ignores the reals."""
    real, fake = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3)
    square = lambda x: x.pow(2).flatten(1).sum(1)  # noqa: E731
    expected = 0.5 * (2 * fake).pow(2).flatten(1).sum(1).mean()
    assert R2().value(square, real, fake).item() == pytest.approx(expected.item(), rel=1e-5)
    assert R2().value(square, real, fake).item() != pytest.approx(R1().value(square, real, fake).item())


def test_gradient_penalty_of_a_linear_d_with_gradient_norm_3_is_4() -> None:
    w = torch.tensor([[2.0, 2.0, 1.0]])  # ||w|| = 3
    value = GradientPenalty().value(linear_d(w), torch.randn(6, 1, 3), torch.randn(6, 1, 3))
    assert value.item() == pytest.approx(4.0)


def test_gradient_penalty_interpolates_with_a_per_sample_epsilon_from_the_global_rng() -> None:
    """D(x) = ||x||^2 / 2 per sample: ∇ = x̂, so the penalty is mean (||x̂|| - 1)^2."""
    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    torch.manual_seed(7)
    eps = torch.rand(5, 1, 1, 1)
    mixed = eps * real + (1 - eps) * fake
    expected = (mixed.flatten(1).norm(dim=1) - 1).pow(2).mean()
    torch.manual_seed(7)
    value = GradientPenalty().value(lambda x: 0.5 * x.pow(2).flatten(1).sum(1), real, fake)
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)


def test_lazy_interval_scales_the_weight_and_picks_the_steps() -> None:
    w = torch.tensor([[[1.0, 2.0], [-2.0, 0.0]]])
    real = torch.randn(2, 1, 2, 2)
    penalty = R1(weight=2.0, every=4)
    assert penalty(linear_d(w), real, real).item() == pytest.approx(2 * 4 * 4.5)
    assert [step for step in range(13) if penalty.due(step)] == [0, 4, 8, 12]


def test_penalty_backpropagates_into_the_discriminators_weights() -> None:
    torch.manual_seed(0)
    d = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.Softplus(), nn.Linear(8, 1))
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    for penalty in (R1(), R2(), GradientPenalty()):
        d.zero_grad()
        penalty(d, real, fake).backward()
        assert d[1].weight.grad is not None and d[1].weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "key"), [({"weight": -1.0}, "penalty.weight"), ({"every": 0}, "penalty.every")]
)
def test_bad_penalty_settings_name_the_key(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        R1(**kwargs)


# --- DiffAugment -------------------------------------------------------------------------------------------


def images(b: int = 4, c: int = 3, size: int = 8) -> Tensor:
    return torch.rand(b, c, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_diffaugment_keeps_the_shape_and_is_deterministic_under_a_seed() -> None:
    x = images()
    torch.manual_seed(3)
    first = DiffAugment()(x)
    torch.manual_seed(3)
    assert first.shape == x.shape and torch.equal(first, DiffAugment()(x))
    assert not torch.equal(first, DiffAugment()(x))  # the global RNG moved on


def test_color_is_brightness_saturation_contrast_with_per_sample_factors() -> None:
    x = images(b=3)
    torch.manual_seed(5)
    brightness, saturation, contrast = torch.rand(3, 1, 1, 1), torch.rand(3, 1, 1, 1), torch.rand(3, 1, 1, 1)
    expected = x + brightness - 0.5
    mean = expected.mean(dim=1, keepdim=True)
    expected = (expected - mean) * saturation * 2 + mean
    mean = expected.mean(dim=(1, 2, 3), keepdim=True)
    expected = (expected - mean) * (contrast + 0.5) + mean
    torch.manual_seed(5)
    assert torch.allclose(DiffAugment(policy="color")(x), expected, atol=1e-6)


def test_color_differs_between_samples() -> None:
    x = images(b=1).expand(4, -1, -1, -1)
    out = DiffAugment(policy="color")(x)
    assert all(not torch.allclose(out[0], out[i]) for i in range(1, 4))


def shifted(image: Tensor, dy: int, dx: int) -> Tensor:
    """out[i, j] = image[i + dy, j + dx], zero outside: the translation written with slices."""
    out = torch.zeros_like(image)
    h, w = image.shape[-2:]
    out[:, max(0, -dy) : min(h, h - dy), max(0, -dx) : min(w, w - dx)] = image[
        :, max(0, dy) : min(h, h + dy), max(0, dx) : min(w, w + dx)
    ]
    return out


def test_translation_shifts_each_image_by_whole_pixels_with_zero_fill() -> None:
    x = images(b=8, size=16)
    torch.manual_seed(11)
    dy, dx = torch.randint(-2, 3, (8,)), torch.randint(-2, 3, (8,))  # round(0.125 * 16) = 2
    torch.manual_seed(11)
    out = DiffAugment(policy="translation")(x)
    for i in range(8):
        assert torch.equal(out[i], shifted(x[i], int(dy[i]), int(dx[i])))
    moved = [i for i in range(8) if dy[i] != 0]
    assert moved and not torch.equal(out, x)
    i = moved[0]
    rows = slice(16 - int(dy[i]), 16) if dy[i] > 0 else slice(0, -int(dy[i]))
    assert (out[i, :, rows] == 0).all()  # the rows shifted in are zeros, not wrapped or clamped content


@pytest.mark.parametrize("size", [8, 9])
def test_cutout_zeroes_one_square_of_half_the_size_clipped_at_the_border(size: int) -> None:
    side = int(0.5 * size + 0.5)  # 4 for 8, 5 (half rounded up) for 9
    torch.manual_seed(2)
    out = DiffAugment(policy="cutout")(torch.ones(64, 3, size, size))
    whole = 0
    for sample in out:
        assert torch.equal(sample[0], sample[1]) and torch.equal(sample[0], sample[2])  # one mask for all C
        zero = (sample[0] == 0).nonzero()
        height = int(zero[:, 0].max() - zero[:, 0].min()) + 1
        width = int(zero[:, 1].max() - zero[:, 1].min()) + 1
        assert len(zero) == height * width  # one filled rectangle
        assert side // 2 <= height <= side and side // 2 <= width <= side
        inside = zero.min() > 0 and zero.max() < size - 1
        if inside:
            assert height == width == side
        whole += height == width == side
    assert 0 < whole < 64  # some squares lie whole inside the image, some overhang its border


def test_cutout_centres_are_drawn_per_sample_as_in_the_reference() -> None:
    """Centres ~ U{0..size} for an even side (U{0..size-1} for an odd one), rows first, on the global RNG."""
    torch.manual_seed(9)
    centre_y, centre_x = torch.randint(0, 9, (16,)), torch.randint(0, 9, (16,))  # side 4 in an 8x8 image
    expected = torch.ones(16, 1, 8, 8)
    for i in range(16):
        top, left = max(0, int(centre_y[i]) - 2), max(0, int(centre_x[i]) - 2)
        expected[i, :, top : int(centre_y[i]) + 2, left : int(centre_x[i]) + 2] = 0
    torch.manual_seed(9)
    assert torch.equal(DiffAugment(policy="cutout")(torch.ones(16, 1, 8, 8)), expected)


def test_diffaugment_works_on_channels_last() -> None:
    x = images()
    torch.manual_seed(4)
    expected = DiffAugment()(x)
    torch.manual_seed(4)
    out = DiffAugment()(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(out, expected, atol=1e-6)  # the means sum in layout order: last-bit differences


def test_diffaugment_passes_gradients_to_its_input() -> None:
    x = images().requires_grad_(True)
    DiffAugment()(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_generator_learns_through_diffaugment() -> None:
    torch.manual_seed(0)
    g, d = nn.Linear(4, 3 * 8 * 8), nn.Linear(3 * 8 * 8, 1)
    fake = torch.tanh(g(torch.randn(6, 4))).view(6, 3, 8, 8)
    NonSaturating().generator(d(DiffAugment()(fake).flatten(1)).squeeze(1)).backward()
    assert g.weight.grad is not None and g.weight.grad.abs().sum() > 0


def test_bad_diffaugment_settings_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="augment.policy"):
        DiffAugment(policy="color,flip")
    with pytest.raises(ConfigError, match="augment.policy"):
        DiffAugment(policy="")
    with pytest.raises(ConfigError, match="augment.cutout_ratio"):
        DiffAugment(cutout_ratio=1.5)
    with pytest.raises(ConfigError, match=r"images \(B, C, H, W\) or clips \(B, C, T, H, W\)"):
        DiffAugment()(torch.zeros(2, 8, 8))  # no batch of images or clips


def test_a_clip_gets_one_draw_for_all_its_frames_and_clips_get_their_own():
    torch.manual_seed(0)
    frame = torch.rand(4, 3, 1, 16, 16) * 2 - 1
    clips = frame.expand(-1, -1, 5, -1, -1).contiguous()  # 4 clips of 5 identical frames
    out = DiffAugment()(clips)
    assert out.shape == clips.shape
    for t in range(1, 5):
        torch.testing.assert_close(out[:, :, t], out[:, :, 0])  # every frame of a clip augmented alike
    same_start = clips[:1].expand(4, -1, -1, -1, -1)
    out = DiffAugment()(same_start.contiguous())
    assert not torch.allclose(out[0], out[1])  # another clip, another draw
