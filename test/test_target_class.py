"""Class-targeted pick: :func:`grasp_core.picking.select_class` and its configuration.

The executor node filters each candidate message with this function before validation
(``grasp_executor.executor_node.ExecutorNode.class_candidates``); these tests pin its rules on
real candidate messages when the interfaces are built, plain objects otherwise.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from grasp_core.config import ExecutorConfig
from grasp_core.picking import confirmed_by_previous, no_class_message, select_class


def _cand(label: str, conf: float, quality: float = 0.5):
    try:
        from grasp_interfaces.msg import GraspCandidate
    except ImportError:  # interfaces not built here: the same two attributes
        return SimpleNamespace(shape_label=label, shape_confidence=conf, quality=quality)
    c = GraspCandidate()
    c.shape_label, c.shape_confidence, c.quality = label, float(conf), float(quality)
    return c


def test_empty_target_keeps_everything_in_order():
    cs = [_cand("star", 0.9), _cand("", 0.0), _cand("ring", 0.2)]
    assert select_class(cs, "") == cs


def test_keeps_only_the_class_above_the_confidence():
    cs = [_cand("star", 0.9, 0.1), _cand("ring", 0.95), _cand("star", 0.3, 0.8), _cand("", 0.0), _cand("Star", 1.0)]
    assert select_class(cs, "star") == [cs[0], cs[2]]
    assert select_class(cs, "star", min_confidence=0.5) == [cs[0]]
    assert select_class(cs, "star", min_confidence=0.9) == [cs[0]]  # the bound is inclusive
    assert select_class(cs, "ring") == [cs[1]]


def test_unlabelled_and_nan_never_match():
    cs = [_cand("", 1.0), _cand("star", math.nan)]
    assert select_class(cs, "star") == []
    assert select_class([_cand("", 0.0)], "cylinder") == []


def test_absent_class_message():
    assert no_class_message("star") == "no star on the table"


def test_config_defaults_and_range():
    cfg = ExecutorConfig()
    assert cfg.target_class == "" and cfg.min_class_confidence == 0.0
    ExecutorConfig(target_class="star", min_class_confidence=1.0).validate()
    with pytest.raises(ValueError, match="min_class_confidence"):
        ExecutorConfig(min_class_confidence=1.5).validate()

    assert cfg.class_confirm_distance == 0.03
    with pytest.raises(ValueError, match="class_confirm_distance"):
        ExecutorConfig(class_confirm_distance=-0.1).validate()


def test_a_label_must_hold_over_two_frames():
    now = np.array([[0.10, 0.0, 0.7], [0.30, 0.0, 0.7], [np.nan, 0.0, 0.7]])
    before = np.array([[0.11, 0.005, 0.7], [0.5, 0.5, 0.7]])
    assert confirmed_by_previous(now, before, 0.02).tolist() == [True, False, False]  # 1.1 cm; 20 cm; NaN
    assert confirmed_by_previous(now, before, 0.005).tolist() == [False, False, False]
    assert confirmed_by_previous(now, np.zeros((0, 3)), 0.02).tolist() == [False, False, False]  # no previous frame
    assert confirmed_by_previous(np.zeros((0, 3)), before, 0.02).shape == (0,)
