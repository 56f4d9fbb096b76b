"""Depth image preprocessing: units, holes, inpainting, crop/resize, normalisation.

Conventions
-----------
* Depth in metres as ``float32`` arrays of shape (H, W); holes are ``NaN``.
* Pixel coordinates (u, v): u = column, v = row, origin at the centre of the
  top-left pixel (OpenCV / ROS camera_info convention).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Encodings accepted by :func:`depth_to_metres` (sensor_msgs/Image names).
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")


class DepthError(ValueError):
    """A depth image that cannot be used (wrong encoding, shape, or no valid pixel)."""


def depth_to_metres(
    image: np.ndarray,
    encoding: str,
    min_depth: float = 0.05,
    max_depth: float = 10.0,
) -> np.ndarray:
    """Convert a raw depth image to metres with holes as NaN.

    Args:
        image: (H, W) or (H, W, 1) array. ``16UC1``/``mono16``: uint16 millimetres
            (0 = no return); ``32FC1``: float32 metres (0, NaN or inf = hole).
        encoding: the sensor_msgs/Image encoding of ``image``.
        min_depth, max_depth: valid range in metres; values outside become holes.

    Returns:
        (H, W) float32 depth in metres, NaN where there is no valid measurement.

    Raises:
        DepthError: unknown encoding, dtype that disagrees with it, or not 2-D.
    """
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim != 2:
        raise DepthError(f"depth image must be HxW or HxWx1, got shape {image.shape}")
    if encoding in ("16UC1", "mono16"):
        if image.dtype != np.uint16:
            raise DepthError(f"encoding {encoding} needs uint16 data, got {image.dtype}")
        depth = image.astype(np.float32) * np.float32(0.001)
    elif encoding == "32FC1":
        if image.dtype != np.float32:
            raise DepthError(f"encoding 32FC1 needs float32 data, got {image.dtype}")
        depth = image.astype(np.float32, copy=True)
    else:
        raise DepthError(f"unsupported depth encoding {encoding!r}; expected one of {DEPTH_ENCODINGS}")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(depth) | (depth < min_depth) | (depth > max_depth)
    depth[bad] = np.nan
    return depth


def hole_mask(depth: np.ndarray) -> np.ndarray:
    """(H, W) bool mask of holes (non-finite or non-positive values) in a depth image."""
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(depth) | (depth <= 0)


def inpaint_depth(depth: np.ndarray, radius: int = 1) -> np.ndarray:
    """Fill depth holes by OpenCV Navier-Stokes inpainting, as GG-CNN does.

    Source: Morrison, Corke, Leitner, "Closing the Loop for Robotic Grasping"
    (RSS 2018), §V-A: holes are filled with OpenCV's Navier-Stokes inpainting
    (Bertalmio et al. 2001). The depth is scaled to [-1, 1] for the call and
    scaled back, so the result keeps metres.

    Args:
        depth: (H, W) float32 metres; NaN/inf/<=0 are holes.
        radius: inpainting neighbourhood radius in px.

    Returns:
        (H, W) float32 metres without holes.

    Raises:
        DepthError: if every pixel is a hole.
    """
    holes = hole_mask(depth)
    if holes.all():
        raise DepthError("depth image has no valid pixel")
    if not holes.any():
        return depth.astype(np.float32, copy=True)
    valid = depth[~holes]
    lo, hi = float(valid.min()), float(valid.max())
    scale = max(hi - lo, 1e-6)
    # Pad by one pixel so that holes on the border get neighbours (as GG-CNN).
    norm = np.where(holes, 0.0, (depth - lo) / scale).astype(np.float32)
    norm = cv2.copyMakeBorder(norm, 1, 1, 1, 1, cv2.BORDER_DEFAULT)
    mask = cv2.copyMakeBorder(holes.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_DEFAULT)
    filled = cv2.inpaint(norm, mask, radius, cv2.INPAINT_NS)[1:-1, 1:-1]
    out = depth.astype(np.float32, copy=True)
    out[holes] = filled[holes] * scale + lo
    return out


@dataclass(frozen=True)
class CropTransform:
    """A square crop of a source image resized to the network input, and its inverse.

    The one place where network pixels and source-image pixels are related:
    ``u_src = x0 + (u_net + 0.5) * scale - 0.5`` (pixel centres align), and the
    inverse. Lengths scale by ``scale`` (source px per network px).

    Attributes:
        x0, y0: top-left corner of the crop in source pixels (may be negative or
            exceed the image when the crop is larger than it: padded by edge values).
        crop_size: side of the square crop in source pixels.
        output_size: side of the network input in pixels.
    """

    x0: int
    y0: int
    crop_size: int
    output_size: int

    @classmethod
    def centre(cls, image_shape: tuple[int, int], crop_size: int, output_size: int) -> CropTransform:
        """Centre crop of ``crop_size`` px (clamped to the image's shorter side)."""
        h, w = int(image_shape[0]), int(image_shape[1])
        if h <= 0 or w <= 0 or crop_size <= 0 or output_size <= 0:
            raise ValueError(f"bad sizes: image {image_shape}, crop {crop_size}, output {output_size}")
        size = min(int(crop_size), h, w)
        return cls((w - size) // 2, (h - size) // 2, size, int(output_size))

    @property
    def scale(self) -> float:
        """Source pixels per network pixel."""
        return self.crop_size / self.output_size

    def apply(self, image: np.ndarray, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
        """Crop and resize an (H, W[, C]) image to (output_size, output_size[, C])."""
        h, w = image.shape[:2]
        x0, y0, s = self.x0, self.y0, self.crop_size
        pad = max(0, -x0, -y0, x0 + s - w, y0 + s - h)
        if pad:
            image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        crop = image[y0 + pad : y0 + pad + s, x0 + pad : x0 + pad + s]
        if s == self.output_size:
            return np.ascontiguousarray(crop)
        if s < self.output_size and interpolation == cv2.INTER_AREA:
            interpolation = cv2.INTER_LINEAR
        return cv2.resize(crop, (self.output_size, self.output_size), interpolation=interpolation)

    def to_source(self, u: np.ndarray | float, v: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Map network-input pixel coordinates to source-image pixel coordinates."""
        s = self.scale
        return (self.x0 + (np.asarray(u, dtype=np.float64) + 0.5) * s - 0.5,
                self.y0 + (np.asarray(v, dtype=np.float64) + 0.5) * s - 0.5)

    def from_source(self, u: np.ndarray | float, v: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Map source-image pixel coordinates to network-input pixel coordinates."""
        s = self.scale
        return ((np.asarray(u, dtype=np.float64) - self.x0 + 0.5) / s - 0.5,
                (np.asarray(v, dtype=np.float64) - self.y0 + 0.5) / s - 0.5)


def normalise_depth(depth: np.ndarray, method: str = "mean_clip", clip: float = 1.0) -> np.ndarray:
    """Normalise a hole-free depth crop for a GG-CNN-family network.

    ``mean_clip`` (GG-CNN, Morrison et al. 2018; GR-ConvNet): ``clip(d - mean(d), -c, c)``
    in metres. ``none``: unchanged.

    Args:
        depth: (H, W) float32 metres without NaN.
        method: ``"mean_clip"`` or ``"none"``.
        clip: clip bound c in metres.

    Returns:
        (H, W) float32.

    Raises:
        ValueError: unknown method.
    """
    if method == "mean_clip":
        return np.clip(depth - np.float32(depth.mean()), -clip, clip).astype(np.float32)
    if method == "none":
        return depth.astype(np.float32, copy=False)
    raise ValueError(f"unknown depth normalisation {method!r}")


def normalise_rgb(rgb: np.ndarray, method: str = "mean_unit") -> np.ndarray:
    """Normalise an (H, W, 3) uint8 RGB image: ``mean_unit`` = x/255 - mean(x/255) (GR-ConvNet).

    Returns (H, W, 3) float32.
    """
    if method != "mean_unit":
        raise ValueError(f"unknown rgb normalisation {method!r}")
    x = rgb.astype(np.float32) / 255.0
    return x - x.mean()
