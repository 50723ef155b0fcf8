import itertools

import pytest
import torch
from conftest import compose_run, shared, write_idx, write_images
from hydra.utils import instantiate

from gan_lab.data.sampler import ResumableSampler
from gan_lab.errors import ConfigError, DataError


def datamodule(tmp_path, *overrides):
    return instantiate(compose_run(list(overrides), tmp_path / "run").dataset)


def first(sampler, n):
    return list(itertools.islice(iter(sampler), n))


def test_sampler_covers_each_epoch_once_and_reshuffles():
    stream = first(ResumableSampler(10, seed=1), 30)
    epochs = [stream[i : i + 10] for i in (0, 10, 20)]
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert epochs[0] != epochs[1]


def test_sampler_resumes_exactly_where_it_stopped():
    full = first(ResumableSampler(7, seed=3), 25)
    assert first(ResumableSampler(7, seed=3, start=11), 14) == full[11:]


def test_sampler_shards_ranks_disjointly():
    full = first(ResumableSampler(12, seed=0), 12)
    ranks = [first(ResumableSampler(12, seed=0, rank=r, world_size=3), 4) for r in range(3)]
    assert sorted(sum(ranks, [])) == list(range(12))
    assert ranks[1] == full[1::3]


@pytest.mark.parametrize("name,modes", [("gaussian_grid", 25), ("gaussian_ring", 8)])
def test_gaussian_mixtures(tmp_path, name, modes):
    dm = datamodule(tmp_path, f"dataset={name}", "dataset.num_samples=5000")
    dm.setup("fit")
    points, mode = dm.train_set.tensors
    assert points.shape == (5000, 2) and len(mode.unique()) == modes
    assert torch.allclose(points.mean(0), torch.zeros(2), atol=0.2)
    spread = (points - dm.means[mode]).std()
    assert abs(spread - dm.std) / dm.std < 0.1


def test_ring_means_lie_on_the_circle(tmp_path):
    dm = datamodule(tmp_path, "dataset=gaussian_ring", "dataset.radius=2.5")
    assert torch.allclose(dm.means.norm(dim=1), torch.full((8,), 2.5))


def test_mnist_from_a_folder_of_idx_gz_files(tmp_path):
    root = write_idx(tmp_path / "idx", n_train=20, n_test=10)
    dm = datamodule(
        tmp_path, "dataset=mnist", f"dataset.root={root}", "dataset.download=false", "dataset.batch_size=4"
    )
    dm.setup()
    x, y = dm.train_set[3]
    assert len(dm.train_set) == 20 and len(dm.test_set) == 10
    assert x.shape == (1, 28, 28) and -1 <= x.min() < x.max() <= 1 and y == 3
    assert not any(root.glob("MNIST")), "the user's data folder is left untouched"


def test_mnist_image_size_and_channels_are_applied(tmp_path):
    root = write_idx(tmp_path / "idx", n_train=4, n_test=4)
    dm = datamodule(tmp_path, "dataset=mnist", f"dataset.root={root}", "dataset.download=false",
                    "dataset.image_size=32", "dataset.channels=3")  # fmt: skip
    assert dm.load("train")[0][0].shape == (3, 32, 32)


def test_missing_mnist_without_download_names_folder_and_files(tmp_path):
    dm = datamodule(
        tmp_path, "dataset=mnist", f"dataset.root={tmp_path / 'nowhere'}", "dataset.download=false"
    )
    with pytest.raises(DataError, match=r"nowhere.*train-images-idx3-ubyte.gz.*dataset.root"):
        dm.prepare_data()


def test_image_folder_is_recursive_and_converts_modes_and_sizes(tmp_path):
    root = tmp_path / "imgs"
    write_images(root / "a", n=3, size=(50, 80), mode="RGBA", ext="png")
    write_images(root / "b" / "c", n=2, size=(90, 40), mode="L", ext="webp")
    write_images(root, n=1, size=(64, 64), ext="bmp")
    (root / "notes.txt").write_text("not an image")
    dm = datamodule(tmp_path, "dataset=image_folder", f"dataset.root={root}", "dataset.image_size=32")
    dm.setup("fit")
    assert len(dm.train_set) == 6
    for i in range(6):
        x, _ = dm.train_set[i]
        assert x.shape == (3, 32, 32) and x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_image_folder_without_images_names_the_folder(tmp_path, make):
    root = tmp_path / "faces"
    if make == "empty":
        root.mkdir()
        (root / "readme.md").write_text("no images")
    dm = datamodule(tmp_path, "dataset=anime", f"dataset.root={root}")
    with pytest.raises(DataError, match=rf"{root}.*(does not exist|has no image files).*\.jpg.*dataset.root"):
        dm.setup("fit")


def test_celeba_accepts_root_with_img_align_celeba_and_an_attribute_as_label(tmp_path):
    root = tmp_path / "celeba"
    write_images(root / "img_align_celeba", n=3, size=(178, 218))
    dm = datamodule(tmp_path, "dataset=celeba", f"dataset.root={root}")
    assert dm.load("train")[0][1] == 0 and dm.num_classes is None
    labelled = datamodule(tmp_path, "dataset=celeba", f"dataset.root={root}", "dataset.label=attr1")
    with pytest.raises(DataError, match="list_attr_celeba.txt is missing.*dataset.label=null"):
        labelled.load("train")
    names = sorted(p.name for p in (root / "img_align_celeba").iterdir())
    header = "3\n" + " ".join(f"attr{i}" for i in range(40)) + "\n"
    rows = "".join(f"{n} " + " ".join(["1", "-1"] * 20) + "\n" for n in names[:2])
    (root / "list_attr_celeba.txt").write_text(header + rows)
    with pytest.raises(DataError, match=f"1 images \\(e.g. {names[2]}\\) have no row"):
        labelled.load("train")
    (root / "list_attr_celeba.txt").write_text(header + rows + f"{names[2]} " + " ".join(["-1", "1"] * 20))
    data = labelled.load("train")
    assert labelled.num_classes == 2 and data[0][0].shape == (3, 64, 64)
    assert [int(data[i][1]) for i in range(3)] == [0, 0, 1]  # attr1: -1 on the first two rows, 1 on the last
    wrong = datamodule(tmp_path, "dataset=celeba", f"dataset.root={root}", "dataset.label=Smilling")
    with pytest.raises(ConfigError, match="Smilling is not a CelebA attribute; use one of attr0, attr1"):
        wrong.load("train")


def test_real_mnist(tmp_path):
    dm = datamodule(tmp_path, "dataset=mnist", f"dataset.root={shared('mnist')}", "dataset.download=false")
    dm.setup()
    assert len(dm.train_set) == 60000 and len(dm.test_set) == 10000
    x, y = dm.train_set[0]
    assert x.shape == (1, 28, 28) and y == 5  # the first training digit of MNIST is a 5


def test_real_fashion_mnist(tmp_path):
    root = shared("fashion-mnist")
    dm = datamodule(tmp_path, "dataset=fashion_mnist", f"dataset.root={root}", "dataset.download=false")
    dm.setup("fit")
    assert len(dm.train_set) == 60000 and dm.train_set[0][1] == 9  # an ankle boot


def test_real_anime_faces(tmp_path):
    dm = datamodule(tmp_path, "dataset=anime", f"dataset.root={shared('anime-faces')}")
    dm.setup("fit")
    assert len(dm.train_set) == 4000 and dm.train_set[0][0].shape == (3, 64, 64)


def test_real_celeba_sample(tmp_path):
    root = shared("celeba-sample")
    dm = datamodule(tmp_path, "dataset=celeba", f"dataset.root={root}", "dataset.label=Male")
    dm.setup("fit")
    assert len(dm.train_set) == 3000 and dm.train_set[0][0].shape == (3, 64, 64)
    # The shared table's first row, 000058.jpg, has Male = -1 (its 21st attribute).
    first = dm.train_set.files.index(root / "img_align_celeba" / "000058.jpg")
    assert dm.train_set[first][1] == 0 and dm.train_set.targets.sum() == 791  # awk 'NR>2 && $22==1' | wc -l
