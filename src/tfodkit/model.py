"""The dataset model: items, image references, column-wise objects, label maps, streaming datasets.

Objects of one item are held column-wise, as the TFRecord layout holds them: one ``(N, 4)`` array of boxes,
one ``(N,)`` array of label ids, one list of masks, one list of polygon lists, and per-object attribute
columns. Images are references (a path or bytes), read lazily and never decoded unless a step needs pixels.
A :class:`Dataset` is an iterable of items plus a label map: it never holds all items in memory.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tfodkit._lazy import LazyModule
from tfodkit.errors import FormatError, LabelMapError

# the mask object and its PNG codec live in tfodkit.masks.mask; re-exported here (`name as name`), where they were
from tfodkit.masks.mask import PNG_MASK_COMPRESS_LEVEL as PNG_MASK_COMPRESS_LEVEL
from tfodkit.masks.mask import PNG_MASK_MODE as PNG_MASK_MODE
from tfodkit.masks.mask import Mask
from tfodkit.masks.mask import decode_png_mask as decode_png_mask
from tfodkit.masks.mask import encode_png_mask as encode_png_mask
from tfodkit.masks.mask import png_size as png_size

if TYPE_CHECKING:
    import numpy as np
else:  # numpy is imported on first use: `tfod info` on a record file needs none (tfodkit._lazy)
    np = LazyModule("numpy", globals(), "np")

# Per-object attribute columns with a fixed meaning across formats. Readers fill the ones their format has;
# writers write the ones their format supports. Any other column name is a free attribute (CVAT <attribute>).
DIFFICULT = "difficult"  # VOC difficult / TF image/object/difficult (bool)
TRUNCATED = "truncated"  # VOC truncated / TF image/object/truncated (bool)
POSE = "pose"  # VOC pose / TF image/object/view (str)
OCCLUDED = "occluded"  # CVAT occluded (bool)
IS_CROWD = "is_crowd"  # COCO iscrowd / TF image/object/is_crowd (bool)
AREA = "area"  # COCO area / TF image/object/area (float)
GROUP_OF = "group_of"  # Open Images / TF image/object/group_of (bool)
WEIGHT = "weight"  # TF image/object/weight (float)
Z_ORDER = "z_order"  # CVAT z_order (int)
GROUP = "group"  # CVAT group / COCO instance parts: objects sharing a non-zero group are one instance (int)
# Per object None or a (K, 3) float64 array: x, y in absolute pixels and COCO's visibility (0 not labeled, 1 labeled
# but not visible, 2 visible); an unlabeled point has x = y = 0. Point names and skeleton live on the Label.
KEYPOINTS = "keypoints"

WELL_KNOWN_ATTRIBUTES = (
    DIFFICULT,
    TRUNCATED,
    POSE,
    OCCLUDED,
    IS_CROWD,
    AREA,
    GROUP_OF,
    WEIGHT,
    Z_ORDER,
    GROUP,
    KEYPOINTS,
)


# --------------------------------------------------------------------------------------------- label map
@dataclass(frozen=True)
class Label:
    """One label-map entry: ``id`` (1-based, 0 only for ``background``), ``name`` and optional ``display_name``.

    ``keypoints`` names the points of the label's objects, in order (COCO category ``keypoints``, the OD API's
    ``keypoints { id label }`` blocks); ``skeleton`` the lines between them as 1-based index pairs, as COCO writes.
    """

    id: int
    name: str
    display_name: str | None = None
    keypoints: tuple[str, ...] = ()
    skeleton: tuple[tuple[int, int], ...] = ()


class LabelMap:
    """An ordered mapping of label ids to names, the content of ``label_map.pbtxt``.

    Ids may have gaps (1, 3, 7); order is insertion order. Names and ids are unique, names are not empty.
    Id 0 is never a label (only ``background``, as the TF OD API allows): an object whose ``label_id`` is 0 is
    unlabeled, and ``name_of(0)`` is None.

    Example:
        >>> label_map = LabelMap.from_names(["car", "person"])
        >>> label_map.id_of("person"), label_map.name_of(1)
        (2, 'car')
        >>> label_map.get_or_add("bike")
        3
        >>> label_map.name_of(0) is None  # an unlabeled object
        True
    """

    def __init__(self, labels: Iterable[Label] = ()) -> None:
        self._by_id: dict[int, Label] = {}
        self._id_by_name: dict[str, int] = {}
        self._max_keypoints = 0  # per-record writers ask for it: a counter, not a pass over the labels
        for label in labels:
            self.add_copy(label, label.id)

    @classmethod
    def from_names(cls, names: Iterable[str], first_id: int = 1) -> LabelMap:
        """Number ``names`` from ``first_id`` on, in order."""
        return cls(Label(first_id + index, name) for index, name in enumerate(names))

    def add(
        self,
        name: str,
        id: int | None = None,
        *,
        display_name: str | None = None,
        keypoints: Sequence[str] = (),
        skeleton: Sequence[Sequence[int]] = (),
    ) -> int:
        """Add a label and return its id (the next free id after the largest one when ``id`` is None).

        ``keypoints`` are the label's point names, ``skeleton`` 1-based pairs of point indices (see :class:`Label`).
        """
        if id is None:
            id = self.next_id()
        if id < 0:
            raise LabelMapError(f"label id {id} of {name!r} is negative")
        if not name:  # an object without a label has label_id 0 and no entry: never a label named ''
            raise LabelMapError(f"label id {id} has an empty name")
        if id == 0 and "background" not in (name, display_name):
            # id 0 means "no label" (unlabeled objects); the TF OD API reserves it for 'background'
            raise LabelMapError(f"label id 0 is reserved for 'background' (and unlabeled objects), not {name!r}")
        if id in self._by_id:
            raise LabelMapError(f"label id {id} is used twice ({self._by_id[id].name!r} and {name!r})")
        if name in self._id_by_name:
            raise LabelMapError(f"label name {name!r} is used twice (ids {self._id_by_name[name]} and {id})")
        self._by_id[id] = Label(id, name, display_name, *_checked_keypoints(name, keypoints, skeleton))
        self._id_by_name[name] = id
        self._max_keypoints = max(self._max_keypoints, len(keypoints))
        return id

    def add_copy(self, label: Label, id: int | None = None) -> int:
        """Add ``label`` with its display name, point names and skeleton, under ``id`` (see :meth:`add`)."""
        return self.add(
            label.name, id, display_name=label.display_name, keypoints=label.keypoints, skeleton=label.skeleton
        )

    def set_keypoints(self, id: int, keypoints: Sequence[str], skeleton: Sequence[Sequence[int]] = ()) -> None:
        """Give label ``id`` its point names and skeleton (a reader that learns them from the data).

        Example:
            >>> label_map = LabelMap.from_names(["person"])
            >>> label_map.set_keypoints(1, ["nose", "neck"], [(1, 2)])
            >>> label_map[1].keypoints, label_map[1].skeleton
            (('nose', 'neck'), ((1, 2),))
        """
        label = self._by_id[int(id)]
        names, pairs = _checked_keypoints(label.name, keypoints, skeleton)
        self._by_id[int(id)] = Label(label.id, label.name, label.display_name, names, pairs)
        self._max_keypoints = max(len(other.keypoints) for other in self._by_id.values())

    @property
    def max_keypoints(self) -> int:
        """The most points a label names (0: no label names keypoints); kept up to date, not recounted."""
        return self._max_keypoints

    def next_id(self) -> int:
        return max(self._by_id, default=0) + 1

    def get_or_add(self, name: str) -> int:
        """The id of ``name``, adding it with the next free id when it is new."""
        found = self._id_by_name.get(name)
        return found if found is not None else self.add(name)

    def id_of(self, name: str) -> int | None:
        return self._id_by_name.get(name)

    def name_of(self, id: int) -> str | None:
        label = self._by_id.get(int(id))
        return None if label is None else label.name

    def __getitem__(self, id: int) -> Label:
        return self._by_id[int(id)]

    def __contains__(self, id: object) -> bool:
        return id in self._by_id

    def __iter__(self) -> Iterator[Label]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def names(self) -> list[str]:
        return [label.name for label in self._by_id.values()]

    @property
    def ids(self) -> list[int]:
        return list(self._by_id)

    def copy(self) -> LabelMap:
        return LabelMap(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelMap) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"LabelMap({[(label.id, label.name) for label in self]})"


def _checked_keypoints(
    name: str, keypoints: Sequence[str], skeleton: Sequence[Sequence[int]]
) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    names = tuple(str(point) for point in keypoints)
    pairs: list[tuple[int, int]] = []
    for pair in skeleton:
        if len(pair) != 2 or not all(1 <= int(index) <= len(names) for index in pair):
            raise LabelMapError(f"label {name!r}: skeleton pair {list(pair)} is not two point numbers 1..{len(names)}")
        pairs.append((int(pair[0]), int(pair[1])))
    return names, tuple(pairs)


# --------------------------------------------------------------------------------------------- images
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)


def image_format_of(encoded: bytes | memoryview) -> str:
    """The image format (``jpeg``, ``png``, ``gif``, ``bmp``, ``tiff``, ``webp``) from the bytes' signature, or ``""``.

    Example:
        >>> image_format_of(b"\\xff\\xd8\\xff\\xe0rest")
        'jpeg'
    """
    head = bytes(encoded[:12])
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return ""


class ImageRef:
    """A reference to an item's image: a file name, and where to get its bytes (a path, bytes, or nothing).

    ``name`` is the name annotations use (``000001.jpg``, ``train/000001.jpg``). ``path`` is a local path or an
    fsspec URL to read the bytes from; ``data`` holds bytes already in hand (an embedded TFRecord image).
    ``width``/``height`` are read from the image header on first use when not given; pixels are never decoded.

    Example:
        >>> ref = ImageRef("a.png", width=640, height=480)
        >>> ref.size, ref.has_bytes
        ((640, 480), False)
    """

    __slots__ = ("name", "path", "data", "_width", "_height")

    def __init__(
        self,
        name: str,
        *,
        path: str | None = None,
        data: bytes | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.data = data
        self._width = width
        self._height = height

    @property
    def has_bytes(self) -> bool:
        return self.data is not None or self.path is not None

    def read(self) -> bytes:
        """The encoded image bytes, unchanged. Raises :class:`FormatError` when there are none or the file is gone."""
        if self.data is not None:
            return self.data
        if self.path is None:
            raise FormatError(f"image {self.name!r} has no bytes and no file to read them from")
        from tfodkit.storage import read_bytes

        return read_bytes(self.path)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``, from the annotation or else from the image header."""
        if self._width is None or self._height is None:
            self._width, self._height = _header_size(self.read(), self.path or self.name)
        return self._width, self._height

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    @property
    def known_size(self) -> tuple[int, int] | None:
        """``(width, height)`` when known without reading the image, else None."""
        if self._width is None or self._height is None:
            return None
        return self._width, self._height

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.name, self.path, self.data, self._width, self._height)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.name, self.path, self.data, self._width, self._height = state

    def __repr__(self) -> str:
        source = "bytes" if self.data is not None else (self.path or "none")
        return f"ImageRef({self.name!r}, source={source!r}, size={self.known_size})"


def _header_size(encoded: bytes, where: str) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(encoded)) as opened:  # reads the header only
            return opened.size
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise FormatError(f"cannot read the image size: {error}", path=where) from None


def sha256_hex(encoded: bytes) -> str:
    return hashlib.sha256(encoded).hexdigest()


# --------------------------------------------------------------------------------------------- objects
if TYPE_CHECKING:
    Polygon = np.ndarray  # (K, 2) float64, absolute pixel x, y


@dataclass
class Objects:
    """The objects of one image, column-wise (N objects).

    - ``boxes``: ``(N, 4)`` float64, absolute pixels ``[xmin, ymin, xmax, ymax]``;
    - ``label_ids``: ``(N,)`` int64, ids in the dataset's :class:`LabelMap`;
    - ``masks``: N entries, a :class:`Mask` or None;
    - ``polygons``: N entries, each a list of ``(K, 2)`` arrays of absolute pixel points (empty: no polygon);
    - ``attributes``: per-object columns of N values each (see ``WELL_KNOWN_ATTRIBUTES``); a missing value is
      None in a list column.

    Example:
        >>> objects = Objects.from_boxes([[10, 20, 50, 80]], [1])
        >>> len(objects), objects.boxes.dtype, objects.label_ids.tolist()
        (1, dtype('float64'), [1])
    """

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), dtype=np.float64))
    label_ids: np.ndarray = field(default_factory=lambda: np.zeros((0,), dtype=np.int64))
    masks: list[Mask | None] = field(default_factory=list)
    polygons: list[list[Polygon]] = field(default_factory=list)
    attributes: dict[str, list[Any] | np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        self.label_ids = np.asarray(self.label_ids, dtype=np.int64).reshape(-1)
        count = len(self.boxes)
        if not self.masks:
            self.masks = [None] * count
        if not self.polygons:
            self.polygons = [[] for _ in range(count)]
        lengths = {
            "label_ids": len(self.label_ids),
            "masks": len(self.masks),
            "polygons": len(self.polygons),
            **{f"attributes[{name!r}]": len(column) for name, column in self.attributes.items()},
        }
        wrong = {name: length for name, length in lengths.items() if length != count}
        if wrong:
            raise FormatError(f"{count} boxes but per-object columns of other lengths: {wrong}")

    @classmethod
    def from_boxes(
        cls,
        boxes: Sequence[Sequence[float]] | np.ndarray,
        label_ids: Sequence[int] | np.ndarray,
        **attributes: list[Any] | np.ndarray,
    ) -> Objects:
        return cls(
            boxes=np.asarray(boxes, dtype=np.float64),
            label_ids=np.asarray(label_ids, dtype=np.int64),
            attributes=dict(attributes),
        )

    def __len__(self) -> int:
        return len(self.boxes)

    @property
    def has_masks(self) -> bool:
        return any(mask is not None for mask in self.masks)

    @property
    def has_polygons(self) -> bool:
        return any(polygons for polygons in self.polygons)

    def attribute(self, name: str, default: Any = None) -> list[Any]:
        """The column ``name`` as a list of N values (``default`` for each when the column is absent)."""
        column = self.attributes.get(name)
        if column is None:
            return [default] * len(self)
        return list(column.tolist() if isinstance(column, np.ndarray) else column)

    def select(self, keep: np.ndarray | Sequence[int] | Sequence[bool]) -> Objects:
        """A new Objects holding the chosen objects (indices or a bool array), all columns kept aligned."""
        indices = np.arange(len(self))[np.asarray(keep)] if len(self) else np.zeros((0,), dtype=np.int64)
        return Objects(
            boxes=self.boxes[indices],
            label_ids=self.label_ids[indices],
            masks=[self.masks[i] for i in indices],
            polygons=[self.polygons[i] for i in indices],
            attributes={
                name: (column[indices] if isinstance(column, np.ndarray) else [column[i] for i in indices])
                for name, column in self.attributes.items()
            },
        )

    @classmethod
    def concatenate(cls, parts: Sequence[Objects]) -> Objects:
        """Join the objects of ``parts`` in order; an attribute missing from a part is None there."""
        if not parts:
            return cls()
        names = list(dict.fromkeys(name for part in parts for name in part.attributes))
        return cls(
            boxes=np.concatenate([part.boxes for part in parts]),
            label_ids=np.concatenate([part.label_ids for part in parts]),
            masks=[mask for part in parts for mask in part.masks],
            polygons=[polygons for part in parts for polygons in part.polygons],
            attributes={name: [value for part in parts for value in part.attribute(name)] for name in names},
        )


# --------------------------------------------------------------------------------------------- items
@dataclass
class Item:
    """One image and its objects.

    ``id`` is the image name without its extension (``000001``, ``train/000001``); ``subset`` the split
    (``default`` when the source has none); ``attributes`` item-level values (``source_id``, ``frame``, and
    under ``"tfrecord_features"`` any record keys tfodkit does not model, kept for a lossless round trip).

    Example:
        >>> item = Item("000001", ImageRef("000001.jpg", width=4, height=3))
        >>> item.subset, len(item.objects)
        ('default', 0)
    """

    id: str
    image: ImageRef
    objects: Objects = field(default_factory=Objects)
    subset: str = "default"
    attributes: dict[str, Any] = field(default_factory=dict)


def item_id_from_name(name: str) -> str:
    """``"train/000001.jpg"`` → ``"train/000001"``: the image name without its extension."""
    stem, dot, extension = name.rpartition(".")
    if dot and stem and "/" not in extension:
        return stem
    return name


# --------------------------------------------------------------------------------------------- datasets
class Dataset:
    """A streaming dataset: a re-iterable source of items and the label map they use.

    ``items`` is a function that starts a new pass over the items (so the dataset can be read twice without
    being held in memory), or an iterable that can be iterated again (a list, for small data and tests).
    Readers that discover labels while reading (a TFRecord without a label map) add them to ``label_map``
    during iteration: writers that need the full label map write it after the items.

    Example:
        >>> label_map = LabelMap.from_names(["cat"])
        >>> items = [Item("a", ImageRef("a.jpg", width=2, height=2), Objects.from_boxes([[0, 0, 1, 1]], [1]))]
        >>> dataset = Dataset(items, label_map)
        >>> [item.id for item in dataset]
        ['a']
    """

    def __init__(
        self,
        items: Callable[[], Iterable[Item]] | Iterable[Item],
        label_map: LabelMap | None = None,
        *,
        name: str = "dataset",
        length: int | None = None,
    ) -> None:
        self._items = items
        self.label_map = label_map if label_map is not None else LabelMap()
        self.name = name
        self.length = length  # number of items when known cheaply (for progress bars), else None

    def __iter__(self) -> Iterator[Item]:
        source = self._items() if callable(self._items) else self._items
        return iter(source)

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError("this dataset's length is unknown until it is read")
        return self.length

    def map(self, function: Callable[[Item], Item | None], *, name: str | None = None) -> Dataset:
        """A dataset whose items are ``function(item)`` (items for which it returns None are dropped)."""

        def mapped() -> Iterator[Item]:
            for item in self:
                result = function(item)
                if result is not None:
                    yield result

        return Dataset(mapped, self.label_map, name=name or self.name, length=self.length)
