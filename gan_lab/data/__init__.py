"""LightningDataModules. Each is selected by a file in conf/dataset/."""

from gan_lab.data.base import DataModule
from gan_lab.data.images import (
    AnimeDataModule,
    CelebADataModule,
    FashionMNISTDataModule,
    ImageFolderDataModule,
    MNISTDataModule,
    StackedMNISTDataModule,
)
from gan_lab.data.toy import GaussianGridDataModule, GaussianRingDataModule
from gan_lab.data.unpaired import DomainLabelsDataModule, UnpairedDataModule
from gan_lab.data.video import MovingMNISTDataModule, MovingMNISTFramesDataModule, VideoFolderDataModule

__all__ = [
    "AnimeDataModule",
    "CelebADataModule",
    "DataModule",
    "DomainLabelsDataModule",
    "FashionMNISTDataModule",
    "GaussianGridDataModule",
    "GaussianRingDataModule",
    "ImageFolderDataModule",
    "MNISTDataModule",
    "MovingMNISTDataModule",
    "MovingMNISTFramesDataModule",
    "StackedMNISTDataModule",
    "UnpairedDataModule",
    "VideoFolderDataModule",
]
