"""ObjectNet, scored on the 113 of its 313 classes that ImageNet has (WiSE-FT's protocol).

ObjectNet (objectnet.mit.edu) is a test set only: 50,000 images of 313 household-object classes
photographed in unusual poses, backgrounds and viewpoints. Its release maps 113 of them to ImageNet
classes (``mappings/objectnet_to_imagenet_1k.json``, one or more ImageNet classes each); the images
of the other 200 classes are excluded, as in CLIP's and WiSE-FT's evaluations (18,574 images remain).
Every image has a 1-pixel red border that the release's README says to remove before testing:
:class:`ObjectNet` crops it (``border`` pixels on each side) before the model's transform.

The head has one row per overlapping ObjectNet class (labels in the sorted order of their folders,
WiSE-FT's), named by open_clip's ImageNet name of the first ImageNet class the mapping file gives.
WiSE-FT scores a class that maps to several ImageNet classes (9 of the 113: ``chair`` -> barber,
folding and rocking chair) by the highest of their logits; a one-name head row cannot, so its
accuracy on those classes may differ slightly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.utils.data import Dataset

from paint_lightning.data.registry.imagenet_shifts import ImageNetSubset
from paint_lightning.data.sources import Split, Transform

# ObjectNet folder -> the ImageNet labels (sorted wnid order) its class maps to. Derived from the release's
# mappings/ (objectnet_to_imagenet_1k.json gives ImageNet names per ObjectNet label; folder_to_objectnet_label.json,
# imagenet_to_label_2012_v2 and pytorch_to_imagenet_2012_id.json turn them into folders and labels), as copied in
# mlfoundations/wise-ft src/datasets/objectnet_metadata/ (commit 58b7a4b): 113 classes, 125 ImageNet labels.
# fmt: off
OBJECTNET_TO_IMAGENET: dict[str, tuple[int, ...]] = {
    "alarm_clock": (409, 530),
    "backpack": (414,),
    "banana": (954,),
    "band_aid": (419,),
    "basket": (790,),
    "beer_bottle": (440,),
    "bench": (703,),
    "bicycle": (671, 444),
    "binder_closed": (446,),
    "bottle_cap": (455,),
    "bread_loaf": (930,),
    "broom": (462,),
    "bucket": (463,),
    "butchers_knife": (499,),
    "can_opener": (473,),
    "candle": (470,),
    "cellphone": (487,),
    "chair": (423, 559, 765),
    "clothes_hamper": (588,),
    "coffee_french_press": (550,),
    "combination_lock": (507,),
    "computer_mouse": (673,),
    "desk_lamp": (846,),
    "doormat": (539,),
    "dress": (578,),
    "dress_shoe_men": (630,),
    "drill": (740,),
    "drinking_cup": (968,),
    "drying_rack_for_dishes": (729,),
    "envelope": (549,),
    "fan": (545,),
    "frying_pan": (567,),
    "full_sized_towel": (434,),
    "hair_dryer": (589,),
    "hammer": (587,),
    "hand_towel_or_rag": (533,),
    "helmet": (560, 518),
    "iron_for_clothes": (606,),
    "jeans": (608,),
    "keyboard": (508,),
    "ladle": (618,),
    "lampshade": (619,),
    "laptop_open": (620,),
    "lemon": (951,),
    "letter_opener": (623,),
    "lighter": (626,),
    "lipstick": (629,),
    "match": (644,),
    "measuring_cup": (647,),
    "microwave": (651,),
    "mixing_salad_bowl": (659,),
    "monitor": (664,),
    "mug": (504,),
    "nail_fastener": (677,),
    "necklace": (679,),
    "orange": (950,),
    "padlock": (695,),
    "paintbrush": (696,),
    "paper_towel": (700,),
    "pen": (418, 749, 563),
    "pill_bottle": (720,),
    "pillow": (721,),
    "pitcher": (725,),
    "plastic_bag": (728,),
    "plate": (923,),
    "plunger": (731,),
    "pop_can": (737,),
    "portable_heater": (811,),
    "printer": (742,),
    "remote_control": (761,),
    "ruler": (769,),
    "running_shoe": (770,),
    "safety_pin": (772,),
    "salt_shaker": (773,),
    "sandal": (774,),
    "screw": (783,),
    "shovel": (792,),
    "skirt": (601, 655, 689),
    "sleeping_bag": (797,),
    "soap_dispenser": (804,),
    "sock": (806,),
    "soup_bowl": (809,),
    "spatula": (813,),
    "speaker": (632,),
    "still_camera": (732, 759),
    "strainer": (828,),
    "stuffed_animal": (850,),
    "suit_jacket": (834,),
    "sunglasses": (837,),
    "sweater": (841,),
    "swimming_trunks": (842,),
    "t-shirt": (610,),
    "teapot": (849,),
    "tennis_racket": (752,),
    "tie": (457, 906),
    "toaster": (859,),
    "toilet_paper_roll": (999,),
    "trash_bin": (412,),
    "tray": (868,),
    "tv": (851,),
    "umbrella": (879,),
    "vacuum_cleaner": (882,),
    "vase": (883,),
    "wallet": (893,),
    "watch": (531,),
    "water_bottle": (898,),
    "weight_exercise": (543,),
    "weight_scale": (778,),
    "wheel": (479, 694),
    "whistle": (902,),
    "wine_bottle": (907,),
    "winter_glove": (658,),
    "wok": (909,),
}
# fmt: on


class BorderCrop:
    """Removes ``pixels`` from each side of a PIL image, then applies ``transform`` (picklable, for workers)."""

    def __init__(self, pixels: int, transform: Transform | None) -> None:
        self.pixels = pixels
        self.transform = transform

    def __call__(self, image: Any) -> Any:
        """The image without its border, transformed."""
        width, height = image.size
        cropped = image.crop((self.pixels, self.pixels, width - self.pixels, height - self.pixels))
        return self.transform(cropped) if self.transform is not None else cropped


class ObjectNet(ImageNetSubset):
    """ObjectNet's 113 ImageNet classes (18,574 test images), red border cropped.

    Args:
        root: Data root.
        download: Unused (ObjectNet is obtained by hand, under its licence).
        border: Pixels cropped from each side (the release's 1-pixel red border; WiSE-FT's code crops 2).
    """

    key = "objectnet"
    folder = "objectnet-1.0"
    images_subfolder = "images"
    extra_folders_allowed = True  # the 200 classes ImageNet lacks are skipped
    imagenet_indices = tuple(labels[0] for _, labels in sorted(OBJECTNET_TO_IMAGENET.items()))
    layout_text = """
images/alarm_clock/<hash>.png ...   (313 class folders; the 113 ImageNet has are read, the others skipped)
mappings/objectnet_to_imagenet_1k.json, folder_to_objectnet_label.json ...   (not read: the mapping is built in)
"""
    obtain_text = """Manual (licence): download objectnet-1.0.zip from https://objectnet.dev/download.html (the
password is on that page) and extract it in the root: it makes objectnet-1.0/images/<class>/ and
objectnet-1.0/mappings/."""

    def __init__(self, root: str | None = None, download: bool = False, border: int = 1) -> None:
        super().__init__(root, download)
        if not isinstance(border, int) or isinstance(border, bool) or border < 0:
            raise ValueError(f"options.border={border!r}: give the pixels to crop from each side, an integer >= 0.")
        self.border = border

    def folder_names(self) -> list[str]:
        """The overlapping classes' folders, sorted (the label order)."""
        return sorted(OBJECTNET_TO_IMAGENET)

    def dataset(self, split: Split, transform: Transform | None = None) -> Dataset:
        """The split, each image cropped by ``border`` pixels on each side before ``transform``."""
        crop: Callable[[Any], Any] | None = BorderCrop(self.border, transform) if self.border else transform
        return self.index(split).dataset(crop)
