"""The data side: sources, tasks, splits and the DataModule."""

from paint_lightning.data.csv_source import CSVSource
from paint_lightning.data.datamodule import PaintDataModule
from paint_lightning.data.folder import ImageFolderSource
from paint_lightning.data.sources import ImageSource
from paint_lightning.data.tasks import Task, TaskSpec

__all__ = ["CSVSource", "ImageFolderSource", "ImageSource", "PaintDataModule", "Task", "TaskSpec"]
