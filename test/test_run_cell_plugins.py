"""``./run.sh --model M`` picks the detector plugin from M's card: every shipped grasp network opens in
the plugin the composed cell gives it (a multi-stage STN card in the GG-CNN plugin is refused)."""
import json
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

from grasp_bringup.cell import detector_plugin, model_kind  # noqa: E402
from grasp_core.robust_metric import CARD_FORMAT as ROBUST_FORMAT  # noqa: E402
from grasp_detector.detectors import load_detector  # noqa: E402

MODELS = Path(__file__).resolve().parents[1] / "models"
CARDS = sorted(p for p in [*MODELS.glob("*.json"), *MODELS.glob("*_baselines*/*.json")]
               if json.loads(p.read_text()).get("format") != ROBUST_FORMAT)  # not the robustness classifier


@pytest.mark.parametrize("card", CARDS, ids=lambda p: p.stem)
def test_every_shipped_network_opens_in_the_plugin_the_cell_chooses(card):
    kind = model_kind(str(card))[0]
    plugin = detector_plugin(kind) or "onnx_generative"
    det = load_detector(plugin).open(str(card), 1, True, ["CPUExecutionProvider"])
    assert det is not None


def test_the_choice_is_needed():
    """The plugin the cell configured before (GG-CNN's) refuses a multi-stage STN card."""
    assert detector_plugin("msstn") == "onnx_msstn" and detector_plugin("gqstn_multigrasp") == "onnx_gqstn"
    assert detector_plugin("detseg") == "onnx_detseg" and detector_plugin("ssd_grasp") == "onnx_ssd"
    assert detector_plugin("") == ""
    with pytest.raises(ValueError):
        load_detector("onnx_generative").open(str(MODELS / "msstn_synth.json"), 1, True, ["CPUExecutionProvider"])
