"""Kinect-like depth sensor noise: the one model the synthetic dataset and the simulated cell use.

Axial noise σ(z) = 0.0012 + 0.0019·(z − 0.4)² m (Nguyen, Izadi, Lovell, "Modeling Kinect Sensor
Noise for Improved 3D Reconstruction and Tracking", 3DIMPVT 2012, Eq. 5), plus a low-frequency
offset field, dropout blobs and holes along depth discontinuities (:func:`kinect_noise`).

Depth: (H, W) float32 z-depth in metres; holes NaN (:func:`kinect_noise`) or 0.0
(:func:`simulate_depth`, as a driver publishes them).
"""
from __future__ import annotations

import cv2
import numpy as np


def kinect_sigma(z: np.ndarray, level: float = 1.0) -> np.ndarray:
    """Axial noise standard deviation, m, at z-depth ``z`` (m, same shape and dtype):
    (0.0012 + 0.0019·(z − 0.4)²)·level (Nguyen et al. 2012, Eq. 5)."""
    return (0.0012 + 0.0019 * (z - 0.4) ** 2) * level


def kinect_noise(depth: np.ndarray, rng: np.random.Generator, level: float = 1.0) -> np.ndarray:
    """Kinect-like noisy depth with holes (NaN) from a perfect depth image.

    Model: axial Gaussian noise σ(z) = 0.0012 + 0.0019·(z − 0.4)² m (Nguyen,
    Izadi, Lovell, 3DIMPVT 2012, Eq. 5), a small low-frequency offset field,
    random dropout blobs, and holes along depth discontinuities (shadow /
    mixed-pixel edges), each scaled by ``level``.

    Args:
        depth: (H, W) float32 metres, no holes.
        rng: numpy Generator.
        level: 0 = perfect, 1 = typical, >1 = worse.

    Returns:
        (H, W) float32 metres, NaN at holes.
    """
    h, w = depth.shape
    z = depth.astype(np.float32)
    sigma = kinect_sigma(z, level)
    out = z + rng.normal(size=z.shape).astype(np.float32) * sigma
    low = cv2.resize(rng.normal(size=(6, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    out += low * 0.002 * level
    holes = np.zeros((h, w), bool)
    # dropout blobs
    if level > 0:
        field_ = cv2.GaussianBlur(rng.uniform(size=(h // 8, w // 8)).astype(np.float32), (0, 0), 1.5)
        field_ = cv2.resize(field_, (w, h), interpolation=cv2.INTER_LINEAR)
        thr = np.quantile(field_, 1 - rng.uniform(0.0, 0.04) * level)
        holes |= field_ > thr
        holes |= rng.uniform(size=(h, w)) < 0.005 * level
        # holes at depth edges
        gx = cv2.Sobel(z, cv2.CV_32F, 1, 0, ksize=3) / 8
        gy = cv2.Sobel(z, cv2.CV_32F, 0, 1, ksize=3) / 8
        edge = (np.hypot(gx, gy) > 0.008).astype(np.uint8)
        edge = cv2.dilate(edge, np.ones((3, 3), np.uint8), iterations=int(rng.integers(0, 3)))
        holes |= (edge > 0) & (rng.uniform(size=(h, w)) < 0.6 * min(level, 1.5))
    out[holes] = np.nan
    return out


def simulate_depth(depth: np.ndarray, rng: np.random.Generator, level: float = 1.0, noise: bool = True,
                   holes: bool = True) -> np.ndarray:
    """A Kinect-like sensor image from a perfect depth image, with noise and holes each switchable.

    Args:
        depth: (H, W) float32 perfect z-depth, m.
        rng: numpy Generator (the draws of :func:`kinect_noise`, then, without holes, the noise of
            the hole pixels).
        level: noise scale (:func:`kinect_noise`).
        noise: add the axial noise and offsets. holes: drop pixels as the sensor does (0.0).

    Returns:
        (H, W) float32 metres, 0.0 at holes; ``depth`` unchanged when both are off.
    """
    if not (noise or holes):
        return depth.astype(np.float32)
    noisy = kinect_noise(depth, rng, level)
    hole = np.isnan(noisy)
    if not noise:
        noisy = depth.copy()
    elif not holes:  # noise everywhere, no holes: fill the hole pixels with noisy depth
        sigma = kinect_sigma(depth[hole], level)
        noisy[hole] = depth[hole] + rng.normal(size=sigma.shape).astype(np.float32) * sigma
    if holes:
        noisy[hole] = 0.0
    return noisy.astype(np.float32)


__all__ = ["kinect_noise", "kinect_sigma", "simulate_depth"]
