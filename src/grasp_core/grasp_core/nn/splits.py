"""Train / test splits by scene (image ids ``SSSSSS_V``): the fixed held-out tenth and k folds.

Every view of a scene falls on the same side, so no test scene is ever trained on. The
cross-validation driver (:mod:`grasp_core.nn.crossval`) uses :func:`kfold_split`.
"""
from __future__ import annotations

from ..evaluate import scene_of


def split_ids(ids: list[str], heldout_mod: int = 9) -> tuple[list[int], list[int]]:
    """Indices of train and held-out images by scene number (``SSSSSS_V``): scene % 10 == heldout_mod held out."""
    train, held = [], []
    for k, i in enumerate(ids):
        (held if scene_of(i) % 10 == heldout_mod else train).append(k)
    return train, held


def kfold_split(ids: list[str], folds: int, fold: int) -> tuple[list[int], list[int]]:
    """k-fold cross-validation by scene: fold ``fold`` tests the scenes with scene % folds == fold.

    Every view of a scene is in the same fold, so no test scene is ever trained on;
    over the ``folds`` folds every image is tested exactly once.

    Raises:
        ValueError: folds < 2 or fold not in [0, folds).
    """
    if folds < 2 or not 0 <= fold < folds:
        raise ValueError(f"need folds >= 2 and 0 <= fold < folds, got folds={folds}, fold={fold}")
    train, test = [], []
    for k, i in enumerate(ids):
        (test if scene_of(i) % folds == fold else train).append(k)
    return train, test
