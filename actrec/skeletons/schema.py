"""Skeleton schemas as data: joints, bones, left/right pairs and named groups.

Mirror augmentation, joint angles, subsets and graph adjacency all read a `Schema`, so no joint
index is written twice in the code. Built-in schemas are YAML files in `builtin/`; users add
their own the same way (see `load_schema_yaml`).

YAML layout (joints may be referred to by name or by index everywhere):

```yaml
name: quadruped15
joints: [nose, neck, tail_base, left_front_paw, ...]
bones: [[neck, nose], [neck, tail_base], ...]     # (parent, child); parents nearer the root
mirror: auto            # pair joints whose names differ only by a left/right token
mirror_pairs: [[left_ear, right_ear]]             # explicit pairs, added to the auto ones
groups: {head: [nose, neck], legs: [...]}
root: neck              # centre of the graph (graph models' spatial partitions)
centre: [neck]          # joints whose mean is the origin when normalising; default [root]
scale_bone: [neck, tail_base]                     # its length is the body length
coordinate_dims: 2      # leading channels that are spatial coordinates (x, y[, z])
parts:                  # optional: build from other schemas (joints appended in order)
  - {schema: mediapipe_hand, prefix: left_hand_, group: left_hand}
```
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from actrec.errors import DataError


@dataclass(frozen=True)
class Schema:
    """One skeleton layout; indices refer to positions in `joints`.

    bones: (parent, child) pairs, parents nearer `root`; angles are taken at joints where one
        bone ends and another starts.
    mirror_pairs: (left, right) joints swapped by a horizontal mirror.
    groups: named joint lists used to pick subsets (e.g. `body`, `left_hand_core`).
    root: the joint graph models treat as the centre.
    centre: joints whose mean is the origin when normalising (robust when one is missing).
    scale_bone: (a, b); its length is the body length used to scale poses.
    coordinate_dims: how many leading channels of `[T, J, C]` keypoints are coordinates; the rest
        (confidence, visibility) are carried along untouched by geometric transforms.
    """

    name: str
    joints: list[str]
    bones: list[tuple[int, int]] = field(default_factory=list)
    mirror_pairs: list[tuple[int, int]] = field(default_factory=list)
    groups: dict[str, list[int]] = field(default_factory=dict)
    root: int = 0
    centre: list[int] = field(default_factory=list)
    scale_bone: tuple[int, int] = (0, 0)
    coordinate_dims: int = 2

    def __post_init__(self) -> None:
        n = len(self.joints)
        if n == 0:
            raise DataError(f"schema '{self.name}': has no joints; list them under 'joints'")
        if len(set(self.joints)) != n:
            dup = next(j for j in self.joints if self.joints.count(j) > 1)
            raise DataError(f"schema '{self.name}': joint '{dup}' is listed twice; joint names must be unique")
        used = [i for pair in (*self.bones, *self.mirror_pairs, self.scale_bone) for i in pair]
        used += [self.root, *self.centre, *(i for g in self.groups.values() for i in g)]
        bad = [i for i in used if not 0 <= i < n]
        if bad:
            raise DataError(f"schema '{self.name}': joint index {bad[0]} is outside its {n} joints")
        if not self.centre:
            object.__setattr__(self, "centre", [self.root])

    @property
    def n_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str | int) -> int:
        """Position of a joint given by name or index; DataError naming the schema if unknown."""
        if isinstance(joint, (int, np.integer)) and not isinstance(joint, bool):
            if 0 <= int(joint) < self.n_joints:
                return int(joint)
        elif joint in self.joints:
            return self.joints.index(joint)
        raise DataError(f"schema '{self.name}' has no joint {joint!r}; its joints are {', '.join(self.joints[:8])}...")

    def mirror_permutation(self) -> np.ndarray:
        """int `[J]`: the joint each joint becomes under a horizontal mirror."""
        perm = np.arange(self.n_joints)
        for left, right in self.mirror_pairs:
            perm[left], perm[right] = right, left
        return perm

    def parents(self) -> np.ndarray:
        """int `[J]`: each joint's parent along `bones`, -1 for roots."""
        parent = np.full(self.n_joints, -1)
        for a, b in self.bones:
            if parent[b] < 0:
                parent[b] = a
        return parent

    def angle_triples(self) -> list[tuple[int, int, int]]:
        """(a, b, c) for each pair of bones (a, b), (b, c): the angle at b between its two bones.

        For `mediapipe_hand` these are the 15 finger-joint angles (3 per finger).
        """
        return [(a, b, c) for a, b in self.bones for b2, c in self.bones if b2 == b and c != a]

    def adjacency(self) -> np.ndarray:
        """float32 `[J, J]` symmetric 0/1 matrix of bones (no self loops), for graph models."""
        adj = np.zeros((self.n_joints, self.n_joints), dtype=np.float32)
        for a, b in self.bones:
            adj[a, b] = adj[b, a] = 1.0
        return adj

    def resolve(self, groups_or_names: str | Iterable[str | int]) -> np.ndarray:
        """Sorted unique joint indices named by group names, joint names or indices."""
        items = [groups_or_names] if isinstance(groups_or_names, (str, int)) else list(groups_or_names)
        if not items:
            raise DataError(f"schema '{self.name}': empty joint selection; name groups or joints")
        chosen: set[int] = set()
        for item in items:
            if isinstance(item, str) and item in self.groups:
                chosen.update(self.groups[item])
            elif isinstance(item, str) and item not in self.joints:
                raise DataError(
                    f"schema '{self.name}' has no group or joint '{item}'; groups are "
                    f"{', '.join(sorted(self.groups)) or '(none)'}"
                )
            else:
                chosen.add(self.index(item))
        return np.array(sorted(chosen), dtype=np.int64)

    def subset(self, groups_or_names: str | Iterable[str | int]) -> tuple[Schema, np.ndarray]:
        """The schema restricted to some joints, and the kept indices into this schema's joints.

        Bones are remapped so the subset stays connected: a kept joint's parent becomes its
        nearest kept ancestor (137 -> 47 keeps wrist -> finger base -> fingertip). Pairs and
        groups keep only fully kept members; root, centre and scale bone fall back sensibly.
        """
        keep = self.resolve(groups_or_names)
        new_index = {int(old): new for new, old in enumerate(keep)}
        parent = self.parents()
        bones = []
        for old in keep:
            ancestor = parent[old]
            while ancestor >= 0 and int(ancestor) not in new_index:
                ancestor = parent[ancestor]
            if ancestor >= 0:
                bones.append((new_index[int(ancestor)], new_index[int(old)]))
        pairs = [(new_index[a], new_index[b]) for a, b in self.mirror_pairs if a in new_index and b in new_index]
        groups = {name: [new_index[i] for i in members if i in new_index] for name, members in self.groups.items()}
        groups = {name: members for name, members in groups.items() if members}
        centre = [new_index[i] for i in self.centre if i in new_index]
        root = new_index.get(self.root, centre[0] if centre else 0)
        scale = self.scale_bone
        if not (scale[0] in new_index and scale[1] in new_index):
            scale = bones[0] if bones else (root, root)
        else:
            scale = (new_index[scale[0]], new_index[scale[1]])
        label = groups_or_names if isinstance(groups_or_names, str) else ",".join(map(str, groups_or_names))
        sub = Schema(
            name=f"{self.name}[{label}]",
            joints=[self.joints[i] for i in keep],
            bones=bones,
            mirror_pairs=pairs,
            groups=groups,
            root=root,
            centre=centre or [root],
            scale_bone=scale,
            coordinate_dims=self.coordinate_dims,
        )
        return sub, keep

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-able form (indices), enough to rebuild the schema with `schema_from_dict`."""
        return {
            "name": self.name,
            "joints": list(self.joints),
            "bones": [list(b) for b in self.bones],
            "mirror_pairs": [list(p) for p in self.mirror_pairs],
            "groups": {k: list(v) for k, v in self.groups.items()},
            "root": self.root,
            "centre": list(self.centre),
            "scale_bone": list(self.scale_bone),
            "coordinate_dims": self.coordinate_dims,
        }


def get_schema(name_or_path: str | Schema) -> Schema:
    """A built-in schema by name (`coco17`, `mediapipe_hand`, ...) or one read from a YAML path."""
    if isinstance(name_or_path, Schema):
        return name_or_path
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or Path(text).is_file():
        return load_schema_yaml(text)
    return _builtin(text)


def builtin_names() -> list[str]:
    """Names of the schemas shipped with actrec."""
    folder = _builtin_folder()
    return sorted(p.name.rsplit(".", 1)[0] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _builtin_folder() -> Any:
    return resources.files("actrec.skeletons") / "builtin"


@cache
def _builtin(name: str) -> Schema:
    path = _builtin_folder() / f"{name}.yaml"
    if not path.is_file():
        raise DataError(
            f"unknown skeleton schema '{name}'; use one of {', '.join(builtin_names())} "
            "or a path to a schema .yaml file"
        )
    return schema_from_dict(yaml.safe_load(path.read_text()), source=f"{name}.yaml", base_dir=None)


def load_schema_yaml(path: str | Path) -> Schema:
    """Read a user schema file (layout in this module's docstring)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: schema file not found; give a built-in name or an existing .yaml path")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        line = getattr(getattr(error, "problem_mark", None), "line", None)
        where = f" line {line + 1}" if line is not None else ""
        raise DataError(f"{path}{where}: not valid YAML; fix the syntax") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; save the schema as UTF-8") from None
    except ValueError as error:  # the scanner's own, e.g. an escape beyond the last code point
        raise DataError(f"{path}: not valid YAML ({error}); fix the syntax") from None
    try:
        return schema_from_dict(data, source=str(path), base_dir=path.parent)
    except DataError as error:  # a part's or the Schema's own check: say which file holds it
        if str(path) in str(error):
            raise
        raise DataError(f"{path}: {error}") from None
    except RecursionError:
        raise DataError(
            f"{path}: its 'parts' include the file itself (directly or through another schema); remove the loop"
        ) from None


def schema_from_dict(data: Any, source: str = "<schema>", base_dir: Path | None = None) -> Schema:
    """Build a `Schema` from YAML data (names or indices), expanding `parts` and `mirror: auto`."""
    if not isinstance(data, dict) or "name" not in data:
        raise DataError(f"{source}: a schema is a mapping with at least 'name' and 'joints'")
    name = str(data["name"])
    joints: list[str] = []
    bones: list[tuple[int, int]] = []
    pairs: list[tuple[int, int]] = []
    groups: dict[str, list[int]] = {}
    for part in _listed(data, "parts", source):
        _append_part(part, joints, bones, pairs, groups, source, base_dir)
    joints += [str(j) for j in _listed(data, "joints", source)]
    if not joints:
        raise DataError(f"{source}: schema '{name}' has no joints; list them under 'joints'")

    def idx(item: Any, key: str) -> int:
        if isinstance(item, int) and not isinstance(item, bool) and 0 <= item < len(joints):
            return item
        if isinstance(item, str) and item in joints:
            return joints.index(item)
        raise DataError(f"{source}: '{key}' names joint {item!r}, which is not in the schema's joints")

    def idx_pairs(key: str) -> list[tuple[int, int]]:
        items = _listed(data, key, source)
        if any(not isinstance(p, (list, tuple)) or len(p) != 2 for p in items):
            raise DataError(f"{source}: every entry of '{key}' must be a pair [a, b]")
        return [(idx(a, key), idx(b, key)) for a, b in items]

    bones += idx_pairs("bones")
    pairs += idx_pairs("mirror_pairs")
    if data.get("mirror") == "auto":
        pairs += _auto_mirror_pairs(joints)
    pairs = _unique_pairs(pairs)
    named_groups = data.get("groups") or {}
    if not isinstance(named_groups, dict):
        raise DataError(f"{source}: 'groups' must map group names to lists of joints")
    for group in named_groups:
        groups[str(group)] = [idx(m, f"groups.{group}") for m in _listed(named_groups, group, source)]
    root = idx(data.get("root", 0), "root")
    centre = [idx(c, "centre") for c in _listed(data, "centre", source)]
    scale = data.get("scale_bone")
    if not isinstance(scale, list) or len(scale) != 2:
        raise DataError(f"{source}: 'scale_bone' must be a pair of joints whose distance is the body length")
    dims = data.get("coordinate_dims", 2)
    if dims not in (2, 3):
        raise DataError(f"{source}: 'coordinate_dims' is {dims!r}; use 2 (x, y) or 3 (x, y, z)")
    return Schema(
        name=name,
        joints=joints,
        bones=bones,
        mirror_pairs=pairs,
        groups=groups,
        root=root,
        centre=centre,
        scale_bone=(idx(scale[0], "scale_bone"), idx(scale[1], "scale_bone")),
        coordinate_dims=int(dims),
    )


def _listed(data: dict, key: Any, source: str) -> list:
    """`data[key]` as a list (absent or empty: []); anything else is a one-line error."""
    value = data.get(key) or []
    if not isinstance(value, list):
        raise DataError(f"{source}: '{key}' must be a list, not {type(value).__name__}")
    return value


def _append_part(
    part: Any,
    joints: list[str],
    bones: list[tuple[int, int]],
    pairs: list[tuple[int, int]],
    groups: dict[str, list[int]],
    source: str,
    base_dir: Path | None,
) -> None:
    """Append another schema's joints (names prefixed), bones, pairs and groups, offset in place."""
    if not isinstance(part, dict) or "schema" not in part:
        raise DataError(f"{source}: each entry of 'parts' needs 'schema' (a built-in name or .yaml path)")
    ref = str(part["schema"])
    if base_dir is not None and ref.endswith((".yaml", ".yml")):
        ref = str(base_dir / ref)
    sub = get_schema(ref)
    prefix = str(part.get("prefix", ""))
    offset = len(joints)
    joints += [prefix + j for j in sub.joints]
    bones += [(a + offset, b + offset) for a, b in sub.bones]
    pairs += [(a + offset, b + offset) for a, b in sub.mirror_pairs]
    for group, members in sub.groups.items():
        groups[prefix + group] = [m + offset for m in members]
    if part.get("group"):
        groups[str(part["group"])] = list(range(offset, offset + sub.n_joints))


def _auto_mirror_pairs(joints: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs of joints whose `_`-separated names differ only by a `left` <-> `right` token."""
    position = {name: i for i, name in enumerate(joints)}
    pairs = []
    for i, name in enumerate(joints):
        tokens = name.split("_")
        if "left" not in tokens:
            continue
        twin = "_".join("right" if t == "left" else t for t in tokens)
        if twin in position:
            pairs.append((i, position[twin]))
    return pairs


def _unique_pairs(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    seen: set[frozenset[int]] = set()
    out = []
    for a, b in pairs:
        key = frozenset((a, b))
        if a != b and key not in seen:
            seen.add(key)
            out.append((a, b))
    return out
