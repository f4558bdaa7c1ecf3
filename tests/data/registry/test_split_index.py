"""A registry split's index (paint_lightning/data/registry/split_index.py): files or arrays, and their items."""

from pathlib import Path

from PIL import Image

from paint_lightning.data.registry.split_index import ArrayItems, SplitIndex, sorted_files


def test_sorted_files_orders_by_path_whatever_the_listing() -> None:
    files, labels = sorted_files([(Path("/d/b.png"), 1), ("/d/a.png", 0), ("/d/c.png", 2.0)])
    assert files == ["/d/a.png", "/d/b.png", "/d/c.png"] and labels == [0, 1, 2]
    assert all(isinstance(label, int) for label in labels)


def test_a_file_index_reads_its_images_and_hashes_relative_paths(tmp_path: Path) -> None:
    for name, colour in (("x.png", (255, 0, 0)), ("y.png", (0, 0, 255))):
        Image.new("RGB", (4, 4), colour).save(tmp_path / name)
    index = SplitIndex([1, 0], [str(tmp_path / "y.png"), str(tmp_path / "x.png")], tmp_path)
    dataset = index.dataset()
    assert len(dataset) == 2
    image, label = dataset[0]
    assert label == 1 and image.getpixel((0, 0)) == (0, 0, 255)
    assert index.items() == [("x.png", 0), ("y.png", 1)]  # relative to the base, sorted
    assert index.dataset(lambda im: im.size)[1] == ((4, 4), 0)


def test_an_array_index_converts_to_rgb_and_hashes_positions() -> None:
    arrays = [(Image.new("L", (2, 2), 7), 5), (Image.new("L", (2, 2), 9), 3)]
    index = SplitIndex(labels=[5, 3], arrays=arrays)
    dataset = index.dataset()
    assert isinstance(dataset, ArrayItems) and len(dataset) == 2 and dataset.targets == [5, 3]
    image, label = dataset[1]
    assert image.mode == "RGB" and image.getpixel((0, 0)) == (9, 9, 9) and label == 3
    assert index.items() == [(0, 5), (1, 3)]
