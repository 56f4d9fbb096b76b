"""Multi-stage STN training: a tiny run on generated bar images lowers each block's loss, runs the
phases in the paper's order and, while fine-tuning one block, leaves the blocks after it unchanged."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasp_core.grasp import Grasp  # noqa: E402
from grasp_core.nn.msstn import MSSTNConfig  # noqa: E402
from grasp_core.nn.msstn_train import PHASES, MSSTNTrainConfig, _pack, train_baselines, train_msstn  # noqa: E402

SIZE = 48


def _bars(n: int, seed: int):
    """Images with one raised bar each (a graspable object) and its grasp across it."""
    rng = np.random.default_rng(seed)
    xs, gs = [], []
    vv, uu = np.mgrid[0:SIZE, 0:SIZE]
    for _ in range(n):
        u, v = rng.uniform(14, SIZE - 14, 2)
        a = rng.uniform(-math.pi / 2, math.pi / 2)
        c, s = math.cos(a), math.sin(a)
        along = (uu - u) * c - (vv - v) * s  # across the bar: the closing line
        across = (uu - u) * s + (vv - v) * c
        img = ((np.abs(along) < 3) & (np.abs(across) < 9)).astype(np.float32) * 0.5
        xs.append(img[None])
        gs.append([Grasp(float(u), float(v), a, 12.0, 6.0)])
    return xs, gs


def _cfg(tmp_path, steps):
    net = MSSTNConfig(input_size=SIZE, k=2, crop_scale=0.5, patch=24, cls_patch=16, width=8)
    return MSSTNTrainConfig(out_dir=str(tmp_path), net=net, batch_size=8, lr=3e-3, threads=1,
                            stage_steps={p: steps for p in PHASES}, baseline_steps=steps, grasps_per_image=2,
                            min_separation_px=4.0)


def test_tiny_run_lowers_the_losses_in_the_papers_order(tmp_path):
    cfg = _cfg(tmp_path, 25)
    tr, held = _pack(*_bars(24, 0), cfg), _pack(*_bars(6, 1), cfg)
    snapshots = {}

    net, summary = train_msstn(cfg, (tr, held, {}), phases=PHASES[:4])
    assert summary["phases"] == list(PHASES[:4])
    for h in __import__("json").loads((tmp_path / "history.json").read_text()):
        first, last = np.mean(h["losses"][:5]), np.mean(h["losses"][-5:])
        assert last < first, f"{h['phase']}: loss {first:.4f} → {last:.4f}"
    assert (tmp_path / "curves.png").is_file() and (tmp_path / "classifier.pt").is_file()

    # fine-tuning STN_scale,crop alone: the classifier (after it) and the stages before it stay fixed
    cfg2 = _cfg(tmp_path / "ft", 6)
    cfg2.stage_steps = {"ft_scale_crop": 6}
    import grasp_core.nn.msstn_train as mt

    orig = mt.MultiStageSTN

    class Start(orig):  # start the fine-tuning from the stage-wise weights
        def __init__(self, c):
            super().__init__(c)
            self.load_state_dict(net.state_dict())
            snapshots.update({k: v.clone() for k, v in self.state_dict().items()})

    mt.MultiStageSTN = Start
    try:
        net2, s2 = train_msstn(cfg2, (tr, held, {}), phases=("ft_scale_crop",))
    finally:
        mt.MultiStageSTN = orig
    assert s2["phases"] == ["ft_scale_crop"]
    after = net2.state_dict()
    for k, v in snapshots.items():
        same = torch.equal(v, after[k])
        if k.startswith(("classifier.", "crop.", "rotation.")):
            assert same, f"{k} changed while only STN_scale,crop was fine-tuned"
    assert any(not torch.equal(v, after[k]) for k, v in snapshots.items() if k.startswith("scale_crop."))


def test_unknown_phase_is_refused(tmp_path):
    cfg = _cfg(tmp_path, 1)
    d = _pack(*_bars(4, 0), cfg)
    with pytest.raises(ValueError, match="unknown phase"):
        train_msstn(cfg, (d, d, {}), phases=("warmup",))


def test_baselines_train_and_evaluate(tmp_path):
    cfg = _cfg(tmp_path, 20)
    tr, held = _pack(*_bars(16, 0), cfg), _pack(*_bars(6, 1), cfg)
    models, acc = train_baselines(cfg, (tr, held, {}))
    assert set(acc) == {"direct", "single"} and all(0.0 <= a <= 1.0 for a in acc.values())
    assert (tmp_path / "direct.pt").is_file() and (tmp_path / "single.pt").is_file()
