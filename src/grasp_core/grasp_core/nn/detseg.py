"""Grasp detection with semantic segmentation and refinement (Ainetter & Fraundorfer, "End-to-end
Trainable Deep Neural Network for Robotic Grasp Detection and Semantic Segmentation from RGB",
ICRA 2021, §III), built on torchvision's detection components.

One RGB input (B, 3, S, S) (``mean_unit``-normalised, :func:`grasp_core.depth.normalise_rgb`), three heads:

* **Backbone**: ResNet + FPN, torchvision's :func:`~torchvision.models.detection.backbone_utils.resnet_fpn_backbone`
  (a ``BackboneWithFPN`` on conv2…conv5; the paper: ResNet-101, ImageNet-initialised, conv1–conv2
  frozen). Nothing can be downloaded here, so it is trained from scratch with trainable batch norm
  (``DetSegConfig.backbone``, default ResNet-18: what two CPU cores train in a session).
* **Grasp branch** (Faster R-CNN, torchvision's ``AnchorGenerator`` / ``RPNHead`` /
  ``RegionProposalNetwork`` / ``MultiScaleRoIAlign`` / ``RoIHeads`` and their ``BoxCoder``): axis-aligned
  proposals (anchor ratios h/w of the public code: 1, 0.1, 0.4, 0.7, 1.2); RoIAlign 14 × 14, average
  pooling (kernel 2), two fc layers of ``fc_dim`` (1024 in the paper) with normalisation and
  LeakyReLU(0.01) (:class:`GraspBoxHead`); an orientation classifier over 18 θ intervals plus ∅
  (torchvision's background class 0 is ∅) and class-specific box corrections (Eq. 5–7: ``BoxCoder``
  weights (1, 1, 1, 1)). torchvision's ``fastrcnn_loss`` is Eq. 4 + Eq. 5: the cross-entropy over the
  sampled RoIs R (positives against their θ class, negatives against ∅, averaged over |R|) and smooth
  L1 of the positives' corrections. Boxes are the grasp rectangles unrotated
  (:mod:`grasp_core.nn.detseg_targets`).
* **Segmentation branch** (:class:`SemanticHead`): a Mini-DeepLab module (:class:`MiniDeepLab`) on each
  of the first four FPN scales, upsampled to ¼ of the input, concatenated, 1 × 1 conv to the
  ``seg_classes`` classes of :data:`grasp_core.datasets.semantic.CLASS_NAMES`. Loss: Eq. 8
  (:func:`semantic_loss`, hard-negative mining: the 25 % pixels of lowest true-class probability,
  weight 4/(WH)).
* **Refinement head** (:class:`RefineHead`): the class-probability map cropped to each candidate's area
  (RoIAlign on its rotated rectangle's bounding box) stacked with the whole map (pooled to the same
  size), a two-layer MLP → (t̃_x, t̃_y, t̃_w, t̃_h, t̃_θ) (Eq. 9–10, :func:`grasp_core.nn.detseg_targets.refine_targets`).

L = λ_grasp·L_grasp + λ_sem·L_sem + λ_refine·L_refine, L_grasp = L_RPN + L_box + L_rot (:meth:`GraspDetSeg.losses`).
The three configurations of the paper: ``Detection`` (grasp branch only), ``Det_Seg`` (+ segmentation,
its class per grasp), ``Det_Seg_Refine`` (+ refinement, trained from a Det_Seg with the backbone frozen).

Exported outputs (:data:`OUTPUT_NAMES`, :mod:`grasp_core.nn.detseg_export`): ``boxes`` (N, 4) network
px, ``scores`` (N,), ``labels`` (N,) int64 θ class 1…18, ``refine`` (N, 5) (zeros without the head),
``class_prob`` (1, S_classes, S/4, S/4) (uniform without the segmentation branch).
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.roi_heads import RoIHeads
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
from torchvision.ops import MultiScaleRoIAlign, roi_align

from ..datasets.semantic import CLASS_NAMES
from .detseg_onnx import detections_to_rects  # noqa: F401 (re-exported: the numpy twin of rects_from_detections)
from .detseg_targets import ORIENTATIONS, grasp_boxes, orientation_class

#: The paper's three configurations (Tables II–IV).
CONFIGURATIONS = ("Detection", "Det_Seg", "Det_Seg_Refine")
#: Names of the exported outputs.
OUTPUT_NAMES = ("boxes", "scores", "labels", "refine", "class_prob")
#: FPN levels the RoIAlign and the segmentation branch read (conv2…conv5 → P2…P5).
FPN_LEVELS = ("0", "1", "2", "3")


@dataclass
class DetSegConfig:
    """Sizes and settings of :class:`GraspDetSeg` (px of the network input unless said otherwise).

    Attributes:
        input_size: S, side of the square RGB input.
        configuration: one of :data:`CONFIGURATIONS`.
        backbone: torchvision ResNet name (paper: resnet101).
        fpn_channels: FPN width (torchvision's default 256).
        fc_dim: width of the two fc layers of the box head (paper: 1024).
        orientations: θ intervals (paper: 18).
        seg_classes: classes of the segmentation (``len(CLASS_NAMES)``).
        seg_channels: width of each Mini-DeepLab module.
        anchor_sizes: one anchor size per FPN level P2…P6 (px).
        aspect_ratios: anchor h/w ratios (the paper's public code: 1, 0.1, 0.4, 0.7, 1.2).
        rpn_pre_nms_train / rpn_post_nms_train / rpn_pre_nms_test / rpn_post_nms_test: proposals kept.
        rois_per_image: RoIs sampled per image for the box head's loss (25 % positives).
        detections: at most this many grasps per image after NMS; score_thresh, nms_thresh: of the box head.
        refine_size: side of the class-probability crop (and of the pooled whole map) of the refinement head.
        refine_hidden: hidden width of its MLP.
        refine_signed: t̃_θ in [−½, ½) (see :mod:`grasp_core.nn.detseg_targets`).
        lambda_grasp, lambda_sem, lambda_refine: loss weights (paper, Jacquard: 1.0, 0.8, 0.8).
    """

    input_size: int = 256
    configuration: str = "Det_Seg_Refine"
    backbone: str = "resnet18"
    fpn_channels: int = 128
    fc_dim: int = 512
    orientations: int = ORIENTATIONS
    seg_classes: int = len(CLASS_NAMES)
    seg_channels: int = 32
    anchor_sizes: tuple[int, ...] = (16, 32, 64, 128, 256)
    aspect_ratios: tuple[float, ...] = (1.0, 0.1, 0.4, 0.7, 1.2)
    rpn_pre_nms_train: int = 1000
    rpn_post_nms_train: int = 500
    rpn_pre_nms_test: int = 500
    rpn_post_nms_test: int = 100
    rois_per_image: int = 128
    detections: int = 20
    score_thresh: float = 0.05
    nms_thresh: float = 0.3
    refine_size: int = 8
    refine_hidden: int = 256
    refine_signed: bool = True
    lambda_grasp: float = 1.0
    lambda_sem: float = 0.8
    lambda_refine: float = 0.8
    class_names: tuple[str, ...] = field(default_factory=lambda: tuple(CLASS_NAMES))

    def __post_init__(self) -> None:
        if self.configuration not in CONFIGURATIONS:
            raise ValueError(f"configuration must be one of {CONFIGURATIONS}, got {self.configuration!r}")
        if self.input_size % 32:
            raise ValueError(f"input_size must be a multiple of 32, got {self.input_size}")
        self.anchor_sizes = tuple(int(a) for a in self.anchor_sizes)
        self.aspect_ratios = tuple(float(a) for a in self.aspect_ratios)
        self.class_names = tuple(self.class_names)
        if len(self.class_names) != self.seg_classes:
            raise ValueError(f"{self.seg_classes} segmentation classes but {len(self.class_names)} names")

    @property
    def segmentation(self) -> bool:
        return self.configuration != "Detection"

    @property
    def refinement(self) -> bool:
        return self.configuration == "Det_Seg_Refine"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["anchor_sizes"], d["aspect_ratios"] = list(self.anchor_sizes), list(self.aspect_ratios)
        d["class_names"] = list(self.class_names)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> DetSegConfig:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class GraspBoxHead(nn.Module):
    """RoI features (R, C, 14, 14) → (R, fc_dim): average pooling (kernel 2), then two fc layers, each
    with batch normalisation and LeakyReLU(0.01) (the paper's §III-A)."""

    def __init__(self, channels: int, fc_dim: int) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(2)
        self.fc6 = nn.Linear(channels * 7 * 7, fc_dim)
        self.bn6 = nn.BatchNorm1d(fc_dim)
        self.fc7 = nn.Linear(fc_dim, fc_dim)
        self.bn7 = nn.BatchNorm1d(fc_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.pool(x), 1)
        x = F.leaky_relu(self.bn6(self.fc6(x)), 0.01)
        return F.leaky_relu(self.bn7(self.fc7(x)), 0.01)


def _conv_bn(cin: int, cout: int, k: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=dilation * (k // 2), dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.LeakyReLU(0.01))


class MiniDeepLab(nn.Module):
    """Mini-DeepLab (Porzi et al., Seamless Scene Segmentation, CVPR 2019, as used by Ainetter &
    Fraundorfer): a 3 × 3 conv, then in parallel a 3 × 3 conv, a 3 × 3 conv of dilation 6 and a global
    average pooling branch, concatenated and fused by a 1 × 1 conv. (B, C_in, H, W) → (B, C, H, W)."""

    def __init__(self, cin: int, c: int) -> None:
        super().__init__()
        self.stem = _conv_bn(cin, c, 3)
        self.local = _conv_bn(c, c, 3)
        self.wide = _conv_bn(c, c, 3, dilation=6)
        self.glob = nn.Sequential(nn.Conv2d(c, c, 1), nn.LeakyReLU(0.01))
        self.fuse = _conv_bn(3 * c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        g = self.glob(x.mean(dim=(2, 3), keepdim=True)).expand_as(x)
        return self.fuse(torch.cat([self.local(x), self.wide(x), g], 1))


class SemanticHead(nn.Module):
    """Segmentation branch: :class:`MiniDeepLab` on P2…P5, upsampled to P2's size (¼ of the input),
    concatenated, 1 × 1 conv to ``classes`` logits (B, classes, S/4, S/4)."""

    def __init__(self, fpn_channels: int, channels: int, classes: int) -> None:
        super().__init__()
        self.modules_ = nn.ModuleList(MiniDeepLab(fpn_channels, channels) for _ in FPN_LEVELS)
        self.classifier = nn.Conv2d(len(FPN_LEVELS) * channels, classes, 1)

    def forward(self, feats: OrderedDict) -> torch.Tensor:
        p2 = feats[FPN_LEVELS[0]]
        outs = []
        for name, m in zip(FPN_LEVELS, self.modules_, strict=True):
            y = m(feats[name])
            if y.shape[-2:] != p2.shape[-2:]:
                y = F.interpolate(y, size=p2.shape[-2:], mode="bilinear", align_corners=False)
            outs.append(y)
        return self.classifier(torch.cat(outs, 1))


def rotated_bounds(rects: torch.Tensor) -> torch.Tensor:
    """(N, 4) axis-aligned bounds (x1, y1, x2, y2) of (N, 5) rotated rectangles (x, y, w, h, Φ)."""
    c, s = torch.cos(rects[:, 4]).abs(), torch.sin(rects[:, 4]).abs()
    hw = 0.5 * (rects[:, 2] * c + rects[:, 3] * s)
    hh = 0.5 * (rects[:, 2] * s + rects[:, 3] * c)
    return torch.stack([rects[:, 0] - hw, rects[:, 1] - hh, rects[:, 0] + hw, rects[:, 1] + hh], 1)


class RefineHead(nn.Module):
    """Refinement head (§III-C): per candidate, the class-probability map (B, S_c, H/4, W/4) cropped to
    the candidate's rotated rectangle's bounds (RoIAlign, ``size`` × ``size``, spatial scale ¼) and
    stacked with the whole map pooled to the same size; a two-layer MLP → (N, 5) corrections
    (t̃_x, t̃_y, t̃_w, t̃_h, t̃_θ)."""

    def __init__(self, classes: int, size: int, hidden: int, map_size: int) -> None:
        super().__init__()
        if map_size % size:
            raise ValueError(f"the class map side {map_size} is not a multiple of refine_size {size}")
        self.size, self.pool = size, map_size // size
        self.fc1 = nn.Linear(2 * classes * size * size, hidden)
        self.fc2 = nn.Linear(hidden, 5)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, prob: torch.Tensor, rects: torch.Tensor, batch_index: torch.Tensor) -> torch.Tensor:
        """prob: (B, S_c, h, w) class probabilities at ¼ input; rects (N, 5) network px; batch_index (N,)."""
        rois = torch.cat([batch_index.to(prob.dtype)[:, None], rotated_bounds(rects)], 1)
        crop = roi_align(prob, rois, (self.size, self.size), spatial_scale=0.25, sampling_ratio=2, aligned=True)
        whole = F.avg_pool2d(prob, self.pool)[batch_index.long()]
        x = torch.cat([crop, whole], 1).flatten(1)
        return self.fc2(F.leaky_relu(self.fc1(x), 0.01))


def semantic_loss(logits: torch.Tensor, labels: torch.Tensor, fraction: float = 0.25) -> torch.Tensor:
    """L_sem of Eq. 8 with hard-negative mining: per image, the mean −log P_jk(Y_jk) of the
    ⌈fraction·W·H⌉ pixels of lowest true-class probability (weight 1/(fraction·WH) = 4/(WH)), averaged
    over the batch (:func:`grasp_core.nn.detseg_targets.hard_negative_weights` is the numpy reference).

    Args:
        logits: (B, S_c, H, W); labels: (B, H, W) int64 class index.
    """
    nll = F.cross_entropy(logits, labels, reduction="none").flatten(1)
    k = int(math.ceil(fraction * nll.shape[1]))
    return nll.topk(k, dim=1).values.sum(1).div(fraction * nll.shape[1]).mean()


def rects_from_detections(boxes: torch.Tensor, labels: torch.Tensor, n: int = ORIENTATIONS) -> torch.Tensor:
    """(N, 5) rectangles (x, y, w, h, Φ) of decoded boxes (N, 4) and θ classes (N,) 1…n (torch)."""
    phi = -math.pi / 2 + (labels.to(boxes.dtype) - 0.5) * (math.pi / n)
    return torch.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2,
                        boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1], phi], 1)


class GraspDetSeg(nn.Module):
    """The network of Ainetter & Fraundorfer (module docstring) in one of its three configurations.

    ``forward(x)`` in eval mode returns the exported outputs (:data:`OUTPUT_NAMES`) of a batch of one;
    :meth:`losses` the training losses of a batch with targets.
    """

    def __init__(self, cfg: DetSegConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or DetSegConfig()
        self.backbone = resnet_fpn_backbone(backbone_name=cfg.backbone, weights=None, trainable_layers=5,
                                            norm_layer=nn.BatchNorm2d, returned_layers=[1, 2, 3, 4])
        # the backbone's own out_channels is 256; narrow the FPN to cfg.fpn_channels
        if cfg.fpn_channels != self.backbone.out_channels:
            from torchvision.ops.feature_pyramid_network import FeaturePyramidNetwork, LastLevelMaxPool

            in_ch = [m.in_channels for m in self.backbone.fpn.inner_blocks.modules() if isinstance(m, nn.Conv2d)]
            self.backbone.fpn = FeaturePyramidNetwork(in_ch, cfg.fpn_channels, extra_blocks=LastLevelMaxPool())
            self.backbone.out_channels = cfg.fpn_channels
        anchors = AnchorGenerator(tuple((a,) for a in cfg.anchor_sizes), (cfg.aspect_ratios,) * len(cfg.anchor_sizes))
        self.rpn = RegionProposalNetwork(
            anchors, RPNHead(cfg.fpn_channels, anchors.num_anchors_per_location()[0]),
            fg_iou_thresh=0.7, bg_iou_thresh=0.3, batch_size_per_image=256, positive_fraction=0.5,
            pre_nms_top_n={"training": cfg.rpn_pre_nms_train, "testing": cfg.rpn_pre_nms_test},
            post_nms_top_n={"training": cfg.rpn_post_nms_train, "testing": cfg.rpn_post_nms_test},
            nms_thresh=0.7)
        self.roi_heads = RoIHeads(
            MultiScaleRoIAlign(list(FPN_LEVELS), 14, 2), GraspBoxHead(cfg.fpn_channels, cfg.fc_dim),
            FastRCNNPredictor(cfg.fc_dim, cfg.orientations + 1),
            fg_iou_thresh=0.5, bg_iou_thresh=0.5, batch_size_per_image=cfg.rois_per_image, positive_fraction=0.25,
            bbox_reg_weights=(1.0, 1.0, 1.0, 1.0), score_thresh=cfg.score_thresh, nms_thresh=cfg.nms_thresh,
            detections_per_img=cfg.detections)
        self.semantic = SemanticHead(cfg.fpn_channels, cfg.seg_channels, cfg.seg_classes) if cfg.segmentation else None
        self.refine = RefineHead(cfg.seg_classes, cfg.refine_size, cfg.refine_hidden,
                                 cfg.input_size // 4) if cfg.refinement else None

    # -- pieces ----------------------------------------------------------------------------------
    def _images(self, x: torch.Tensor) -> ImageList:
        return ImageList(x, [(int(x.shape[-2]), int(x.shape[-1]))] * int(x.shape[0]))

    def class_prob(self, feats: OrderedDict, x: torch.Tensor) -> torch.Tensor:
        """(B, S_c, S/4, S/4) class probabilities (uniform without the segmentation branch)."""
        if self.semantic is None:
            h, w = feats[FPN_LEVELS[0]].shape[-2:]
            return torch.full((x.shape[0], self.cfg.seg_classes, h, w), 1.0 / self.cfg.seg_classes)
        return torch.softmax(self.semantic(feats), 1)

    # -- inference ---------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor):
        """Eval-mode inference on (1, 3, S, S): (boxes (N, 4), scores (N,), labels (N,), refine (N, 5),
        class_prob (1, S_c, S/4, S/4)); network px."""
        images = self._images(x)
        feats = self.backbone(x)
        proposals, _ = self.rpn(images, feats)
        dets, _ = self.roi_heads(feats, proposals, images.image_sizes)
        boxes, scores, labels = dets[0]["boxes"], dets[0]["scores"], dets[0]["labels"]
        prob = self.class_prob(feats, x)
        if self.refine is not None:
            rects = rects_from_detections(boxes, labels, self.cfg.orientations)
            refine = self.refine(prob, rects, torch.zeros(boxes.shape[0], dtype=torch.int64))
        else:
            refine = boxes.new_zeros((boxes.shape[0], 5))
        return boxes, scores, labels, refine, prob

    # -- training --------------------------------------------------------------------------------
    def losses(self, x: torch.Tensor, rects: list[np.ndarray], classes: torch.Tensor | None = None,
               freeze_backbone: bool = False) -> dict[str, torch.Tensor]:
        """Training losses of a batch (train mode).

        Args:
            x: (B, 3, S, S) inputs. rects: per image (N_i, 5) ground-truth rectangles (x, y, w, h, Φ),
                network px. classes: (B, S, S) int64 class index per pixel (needed with segmentation).
            freeze_backbone: run backbone + FPN without gradients (Det_Seg_Refine's schedule).

        Returns:
            dict: ``rpn_objectness``, ``rpn_box``, ``box`` (L_box), ``rot`` (L_rot), ``sem``, ``refine``,
            ``total`` = λ_grasp·(L_RPN + L_box + L_rot) + λ_sem·L_sem + λ_refine·L_refine.
        """
        cfg = self.cfg
        targets = []
        for r in rects:
            r = np.asarray(r, np.float64).reshape(-1, 5)
            targets.append({"boxes": torch.from_numpy(grasp_boxes(r)),
                            "labels": torch.from_numpy(orientation_class(r[:, 4], cfg.orientations))})
        images = self._images(x)
        if freeze_backbone:
            with torch.no_grad():
                feats = self.backbone(x)
        else:
            feats = self.backbone(x)
        proposals, rpn_l = self.rpn(images, feats, targets)
        _, det_l = self.roi_heads(feats, proposals, images.image_sizes, targets)
        out = {"rpn_objectness": rpn_l["loss_objectness"], "rpn_box": rpn_l["loss_rpn_box_reg"],
               "box": det_l["loss_box_reg"], "rot": det_l["loss_classifier"]}
        zero = x.new_zeros(())
        out["sem"], out["refine"] = zero, zero
        prob = None
        if self.semantic is not None:
            if classes is None:
                raise ValueError("the segmentation branch needs per-pixel classes")
            logits = self.semantic(feats)
            out["sem"] = semantic_loss(F.interpolate(logits, size=x.shape[-2:], mode="bilinear",
                                                     align_corners=False), classes)
            prob = torch.softmax(logits, 1)
        if self.refine is not None:
            out["refine"] = self._refine_loss(feats, images, prob, rects)
        out["total"] = (cfg.lambda_grasp * (out["rpn_objectness"] + out["rpn_box"] + out["box"] + out["rot"])
                        + cfg.lambda_sem * out["sem"] + cfg.lambda_refine * out["refine"])
        return out

    def _refine_loss(self, feats, images, prob, rects) -> torch.Tensor:
        """L_refine (Eq. 9–10): the current detections (eval-mode box head, no gradient) matched to the
        ground truth rectangle of largest unrotated-box IoU (≥ 0.5 and |ΔΦ| < 30°), smooth L1 to their
        refinement targets."""
        from torchvision.ops import box_iou

        from .detseg_targets import refine_targets

        was = self.roi_heads.training
        with torch.no_grad():
            self.rpn.eval()
            self.roi_heads.eval()
            proposals, _ = self.rpn(images, feats)
            dets, _ = self.roi_heads(feats, proposals, images.image_sizes)
            self.rpn.train(was)
            self.roi_heads.train(was)
        cands, gts, idx = [], [], []
        for b, (d, r) in enumerate(zip(dets, rects, strict=True)):
            r = np.asarray(r, np.float64).reshape(-1, 5)
            if not len(d["boxes"]) or not len(r):
                continue
            c = rects_from_detections(d["boxes"], d["labels"], self.cfg.orientations).numpy().astype(np.float64)
            iou = box_iou(d["boxes"], torch.from_numpy(grasp_boxes(r))).numpy()
            dphi = np.abs(np.mod(c[:, 4:5] - r[None, :, 4] + math.pi / 2, math.pi) - math.pi / 2)
            iou = np.where(dphi < math.radians(30), iou, 0.0)
            j = iou.argmax(1)
            keep = iou[np.arange(len(c)), j] >= 0.5
            keep &= (c[:, 2] > 1) & (c[:, 3] > 1)
            if keep.any():
                cands.append(c[keep])
                gts.append(r[j[keep]])
                idx.append(np.full(int(keep.sum()), b))
        if not cands:
            return prob.sum() * 0.0
        c = np.concatenate(cands)
        t = torch.from_numpy(refine_targets(c, np.concatenate(gts), self.cfg.refine_signed)).float()
        pred = self.refine(prob, torch.from_numpy(c).float(), torch.from_numpy(np.concatenate(idx)))
        return F.smooth_l1_loss(pred, t, reduction="sum") / max(1, len(c))


__all__ = ["CONFIGURATIONS", "DetSegConfig", "GraspBoxHead", "GraspDetSeg", "MiniDeepLab", "OUTPUT_NAMES",
           "RefineHead", "SemanticHead", "detections_to_rects", "rects_from_detections", "rotated_bounds",
           "semantic_loss"]
