"""GQ-CNN: the grasp-robustness classifier of Dex-Net 2.0, in PyTorch (training and ONNX export only).

Source: Mahler et al., "Dex-Net 2.0: Deep Learning to Plan Robust Grasps with Synthetic Point
Clouds and Analytic Grasp Metrics", RSS 2017, §V-A and Fig. 5 (the configuration of the ``gqcnn``
package's Dex-Net 2.0 training file):

* image stream, input (n, 1, 32, 32): conv1_1 7×7/64 → conv1_2 5×5/64, max-pool 2×2, local
  response normalisation → conv2_1 3×3/64 → conv2_2 3×3/64, LRN → fc3 1024 (all ReLU, "same"
  padding);
* pose stream, input (n, 1) = the gripper depth z: pc1 16;
* merge: fc4 1024 on [fc3, pc1] → fc5 2 → softmax; column 1 = P(robust).

``fc_width`` and ``pool2`` change the widths of fc3/fc4 and add a 2×2 pool after conv2_2 (the
paper's net has 18 M parameters, 67 MB as float32; the shipped ``gqcnn_synth`` uses
``fc_width=256, pool2=True``, 1.3 M parameters, and says so on its card). The network normalises
its pose input itself with the training set's mean and standard deviation (buffers, exported).

Inputs (:func:`grasp_core.datasets.robustness.network_inputs`): ``crop`` (n, 1, 32, 32) float32 =
(aligned depth crop − centre depth) / 0.05 m; ``pose`` (n, 1) float32 = z − centre depth, m.
Output ``p_robust`` (n, 2) float32 softmax.
"""
from __future__ import annotations

import torch
from torch import nn

#: LRN of Dex-Net 2.0 (TF depth_radius 2, alpha 2e-5, beta 0.75, bias 1; torch's alpha is per window).
_LRN = dict(size=5, alpha=2e-5 * 5, beta=0.75, k=1.0)


class GQCNN(nn.Module):
    """Dex-Net 2.0's GQ-CNN (module docstring).

    Args:
        fc_width: width of fc3 and fc4 (paper: 1024).
        pose_width: width of the pose stream pc1 (paper: 16).
        pool2: add a 2×2 max-pool after conv2_2 (paper: no).
        pose_mean, pose_std: normalisation of the pose input, m.
    """

    def __init__(self, fc_width: int = 1024, pose_width: int = 16, pool2: bool = False, pose_mean: float = 0.0,
                 pose_std: float = 1.0):
        super().__init__()
        self.im = nn.Sequential(
            nn.Conv2d(1, 64, 7, padding=3), nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.LocalResponseNorm(**_LRN),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(inplace=True), nn.LocalResponseNorm(**_LRN),
            *( [nn.MaxPool2d(2)] if pool2 else []),
            nn.Flatten(),
        )
        side = 8 if pool2 else 16
        self.fc3 = nn.Linear(64 * side * side, fc_width)
        self.pc1 = nn.Linear(1, pose_width)
        self.fc4 = nn.Linear(fc_width + pose_width, fc_width)
        self.fc5 = nn.Linear(fc_width, 2)
        self.register_buffer("pose_mean", torch.tensor([float(pose_mean)]))
        self.register_buffer("pose_std", torch.tensor([float(pose_std)]))
        self.config = {"fc_width": fc_width, "pose_width": pose_width, "pool2": pool2}

    def logits(self, crop: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        """(n, 2) logits from crop (n, 1, 32, 32) and pose (n, 1)."""
        a = torch.relu(self.fc3(self.im(crop)))
        b = torch.relu(self.pc1((pose - self.pose_mean) / self.pose_std))
        return self.fc5(torch.relu(self.fc4(torch.cat([a, b], 1))))

    def forward(self, crop: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        """(n, 2) softmax probabilities; column 1 = P(robust)."""
        return torch.softmax(self.logits(crop, pose), 1)


def n_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def export_gqcnn(net: GQCNN, path, opset: int = 17) -> None:
    """Export to ONNX: inputs ``crop`` (n, 1, 32, 32), ``pose`` (n, 1); output ``p_robust`` (n, 2); dynamic n."""
    net = net.eval()
    crop, pose = torch.zeros(2, 1, 32, 32), torch.zeros(2, 1)
    torch.onnx.export(net, (crop, pose), str(path), input_names=["crop", "pose"], output_names=["p_robust"],
                      dynamic_axes={"crop": {0: "n"}, "pose": {0: "n"}, "p_robust": {0: "n"}}, opset_version=opset,
                      dynamo=False)
