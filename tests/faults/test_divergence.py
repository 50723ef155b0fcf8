"""A non-finite loss stops the run naming the step and the loss, and never reaches a checkpoint; or, when
configured, the run rolls back to its last checkpoint and goes on at lower learning rates."""

import pytest
import torch
from conftest import train

from gan_lab.errors import Diverged

# The quickstart GAN, a checkpoint every 2 steps. Adam steps of 1e38 take D's weights to the edge of float32:
# within two steps a loss or a weight overflows.
# A constant rate: the rollback checks the configured rates.
RUN = ["train.steps=6", "checkpoint.every=2", "samples.every=null", "metrics=none", "logger=none",
       "system.lr_decay=constant"]  # fmt: skip
EXPLODE = ["system.optimizers.discriminator.lr=1e38"]


def load(path):
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.fixture
def two_good_steps(tmp_path):
    out = tmp_path / "run"
    train([*RUN, "train.steps=2"], out)
    return out, out / "checkpoints" / "last.ckpt"


def test_divergence_stops_naming_step_and_loss_and_keeps_the_last_good_checkpoint(two_good_steps):
    out, last = two_good_steps
    good = last.read_bytes()
    with pytest.raises(Diverged) as stopped:
        train([*RUN, *EXPLODE, "ckpt_path=last"], out)
    message = str(stopped.value)
    assert stopped.value.step in (3, 4) and f"diverged at step {stopped.value.step}" in message
    assert "is not finite" in message or "loss/" in message  # names what went non-finite
    assert f"Last good checkpoint: {last} (step 2), untouched" in message
    assert "train.on_divergence=rollback" in message  # and the way out
    assert "Lower the learning rates (system.optimizers.<name>.lr)" in message  # keys that exist
    assert last.read_bytes() == good


def test_a_non_finite_loss_is_named_with_its_value(two_good_steps):
    out, last = two_good_steps
    with pytest.raises(Diverged, match=r"diverged at step \d: loss/[dg] is (nan|inf|-inf)"):
        # Finite but huge weights: the loss overflows at the next step, before any weight does.
        train(
            [*RUN, "system.optimizers.discriminator.lr=1e30", "checkpoint.every=null", "ckpt_path=last"], out
        )
    assert load(last)["system"]["steps_done"] == 2


def test_rollback_reloads_the_last_checkpoint_and_goes_on_at_a_lower_learning_rate(two_good_steps):
    out, last = two_good_steps
    # 1e38 x 1e-39: the rolled-back run trains at lr_d 0.1, which stays finite.
    rollback = ["train.on_divergence=rollback", "train.rollback_lr_factor=1e-39", "train.max_rollbacks=2"]
    with pytest.warns(UserWarning, match=r"rolling back to .*last.ckpt \(step 2\)") as told:
        metrics = train([*RUN, *EXPLODE, *rollback, "ckpt_path=last"], out)
    assert len([w for w in told if "rolling back" in str(w.message)]) == 1
    assert metrics["steps"] == 6
    checkpoint = load(last)
    assert checkpoint["system"]["steps_done"] == 6
    assert checkpoint["system"]["lr_scale"] == pytest.approx(1e-39)
    assert checkpoint["optimizer_states"][0]["param_groups"][0]["lr"] == pytest.approx(0.1)  # D's
    assert all(w.isfinite().all() for w in checkpoint["state_dict"].values() if w.is_floating_point())


def test_rollback_gives_up_after_max_rollbacks(two_good_steps):
    out, last = two_good_steps
    rollback = ["train.on_divergence=rollback", "train.rollback_lr_factor=0.5", "train.max_rollbacks=2"]
    with pytest.raises(Diverged, match="diverged at step [34]") as gave_up:  # 1e38 / 4 still overflows
        train([*RUN, *EXPLODE, *rollback, "ckpt_path=last"], out)
    assert "(after 2 rollbacks, train.max_rollbacks)" in str(gave_up.value)
    assert "set train.on_divergence=rollback" not in str(gave_up.value)  # it is set: no such advice
    assert load(last)["system"]["steps_done"] == 2
