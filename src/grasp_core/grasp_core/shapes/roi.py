"""Grasp-aligned regions of interest: image crops and feature maps rotated to the grasp's axis.

A detection (u, v, θ) defines a square window of side ``window_px`` input pixels centred at
(u, v) and turned by θ, so that in the window the grasp's closing direction is +x (to the
right) and the jaws' direction is ±y. The window is sampled on a ``grid`` × ``grid`` raster
with :func:`grasp_core.nn.stn.warp` (``affine_grid`` + bilinear ``grid_sample``; Jaderberg et
al., "Spatial Transformer Networks", NeurIPS 2015), after area-averaging the map to cells of
half an output cell (``adaptive_avg_pool2d``: each output value averages its footprint
instead of aliasing a fine map). Maps of any stride are sampled in the input's normalised coordinates
(a map of h cells spans the 300 input px).

A grasp axis has no sign (θ and θ + π are the same grasp), so the window is defined up to a
180° turn. :func:`canonical_flip` resolves it from the window's content: the first moment
(x̄, ȳ) of a non-negative mass image (the channel sum of the crop, or a given one) is computed
and the window is turned by 180° when its component of larger magnitude is negative (a 180°
turn negates both, so the rule picks the same window for θ and θ + π). The result depends on
the image content around the detection only: a rotation and translation of the whole image
moves (u, v, θ) with it and gives the same vector (up to the resampling).

Used by :mod:`grasp_core.shapes.refine` (``refined_roi`` / ``raw_roi`` features: the refined or
raw activations of each layer in the window, flattened without pooling) and by the image-crop
baselines of :mod:`grasp_core.shapes.experiments` (depth, colour and object-mask crops).

Frames: (u, v) input px, u right, v down, pixel centres at integers; θ rad counter-clockwise
on screen from +u (the convention of :class:`grasp_core.grasp.Grasp`).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..nn.stn import compose, pixels_to_normalised, rotation, scale, translation, warp

#: Side of the grasp-aligned window, input px (the shapes' footprints are ≤ ~110 px across).
WINDOW_PX = 128.0
#: Output raster of a window (cells per side).
GRID = 8


def grasp_windows(centres: np.ndarray, angles: np.ndarray, input_size: int, window_px: float = WINDOW_PX
                  ) -> torch.Tensor:
    """Λ (K, 2, 3) of :func:`grasp_core.nn.stn.warp` for windows centred at ``centres`` turned by ``angles``.

    Args:
        centres: (K, 2) (u, v) input px.
        angles: (K,) grasp angles θ, rad, counter-clockwise on screen.
        input_size: side of the (square) input image, px.
        window_px: window side, input px.

    Returns:
        (K, 2, 3) float32: the window's output point (x, y) ∈ [−1, 1]² → the input point it samples;
        its +x axis is the input direction (cos θ, −sin θ) (u, v), i.e. the grasp's closing line.
    """
    c = torch.as_tensor(np.asarray(centres, np.float32).reshape(-1, 2))
    xy = pixels_to_normalised(c, input_size, input_size)
    th = torch.as_tensor(np.asarray(angles, np.float32).reshape(-1))
    s = torch.full_like(th, float(window_px) / input_size)
    # stn.rotation(φ) turns the output's x axis to the input direction (cos φ, sin φ) in the y-down image,
    # i.e. clockwise on screen; the grasp's θ is counter-clockwise, hence φ = −θ.
    return compose(translation(xy[:, 0], xy[:, 1]), rotation(-th), scale(s))


def _prefilter(x: torch.Tensor, cell: float) -> torch.Tensor:
    """Area-average (K, C, h, w) maps to cells of ``cell`` / 2 map cells (same extent), when that is coarser."""
    h, w = x.shape[-2:]
    size = (max(1, round(2 * h / cell)), max(1, round(2 * w / cell)))
    return F.adaptive_avg_pool2d(x, size) if size[0] < h else x


def aligned_windows(maps: torch.Tensor, theta: torch.Tensor, input_size: int, window_px: float = WINDOW_PX,
                    grid: int = GRID, padding_mode: str = "zeros") -> torch.Tensor:
    """Sample grasp-aligned windows of maps.

    Args:
        maps: (K, C, h, w) float maps spanning the input (one per window), or (1, C, h, w) shared by all.
        theta: (K, 2, 3) from :func:`grasp_windows`.
        input_size: input side, px (the maps' stride is input_size / h).
        window_px, grid: window side (input px) and output cells per side.
        padding_mode: ``"zeros"`` (activations, masks) or ``"border"`` (depth: outside is the table).

    Returns:
        (K, C, grid, grid) float32.
    """
    k = theta.shape[0]
    if maps.shape[0] == 1 and k > 1:
        maps = maps.expand(k, -1, -1, -1)
    cell = window_px / grid * maps.shape[-1] / input_size  # map cells per output cell
    return warp(_prefilter(maps.float(), cell), theta, (grid, grid), padding_mode)


def canonical_flip(windows: torch.Tensor, mass: torch.Tensor | None = None) -> torch.Tensor:
    """Turn each window by 180° where its mass's first moment points to −x/−y (module docstring).

    Args:
        windows: (K, C, g, g).
        mass: (K, g, g) non-negative mass image; default: the channel sum of ``windows`` clipped at 0.

    Returns:
        (K, C, g, g), the canonical windows.
    """
    m = (windows.sum(1) if mass is None else mass).clamp(min=0)
    g = windows.shape[-1]
    c = torch.linspace(-1, 1, g, dtype=m.dtype)
    tot = m.sum((1, 2)).clamp(min=1e-12)
    mx = (m * c[None, None, :]).sum((1, 2)) / tot
    my = (m * c[None, :, None]).sum((1, 2)) / tot
    key = torch.where(my.abs() >= mx.abs(), my, mx)
    flip = key < 0
    out = windows.clone()
    out[flip] = windows[flip].flip(-1, -2)
    return out


def roi_vectors(maps: torch.Tensor, centres: np.ndarray, angles: np.ndarray, input_size: int,
                window_px: float = WINDOW_PX, grid: int = GRID) -> np.ndarray:
    """Activations (≥ 0) in grasp-aligned windows, flattened: (K, C·grid²) float32.

    Canonical 180° turn by the channel-summed activation (:func:`canonical_flip`), square root
    (power normalisation, Perronnin et al., ECCV 2010) and L2 normalisation per row (zeros stay zeros).

    Args:
        maps: (K, C, h, w) or (1, C, h, w) activations; centres (K, 2) input px; angles (K,) rad.
    """
    theta = grasp_windows(centres, angles, input_size, window_px)
    w = canonical_flip(aligned_windows(maps, theta, input_size, window_px, grid, "zeros"))
    v = torch.sqrt(w.clamp(min=0)).reshape(w.shape[0], -1).numpy().astype(np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def image_crops(image: np.ndarray, centres: np.ndarray, angles: np.ndarray, window_px: float = WINDOW_PX,
                grid: int = 32, mass: np.ndarray | None = None, padding_mode: str = "border") -> np.ndarray:
    """Grasp-aligned crops of an image, canonically turned, flattened: (K, C·grid²) float32.

    Args:
        image: (S, S) or (S, S, C) float image (e.g. normalised depth, colour in [−1, 1], a 0/1 mask).
        centres: (K, 2) input px; angles: (K,) rad.
        grid: crop side, px.
        mass: (K, S, S) or (S, S) non-negative images whose crops decide the 180° turn
            (:func:`canonical_flip`); default: the channel sum of the image clipped at 0.
        padding_mode: ``"border"`` (depth, colour) or ``"zeros"`` (masks).
    """
    img = np.asarray(image, np.float32)
    img = img[None] if img.ndim == 2 else np.moveaxis(img, -1, 0)
    s = img.shape[-1]
    theta = grasp_windows(centres, angles, s, window_px)
    crops = aligned_windows(torch.from_numpy(img)[None], theta, s, window_px, grid, padding_mode)
    m = None
    if mass is not None:
        mt = torch.from_numpy(np.asarray(mass, np.float32))
        mt = mt[None] if mt.ndim == 2 else mt
        m = aligned_windows(mt[:, None], theta, s, window_px, grid, "zeros")[:, 0]
    return canonical_flip(crops, m).reshape(crops.shape[0], -1).numpy().astype(np.float32)


#: Height (normalised depth units, :func:`grasp_core.shapes.data.normalise_depth_image`: ×20 /m) above which a
#: pixel is an object's: 0.1 = 5 mm above the table.
OBJECT_THRESHOLD = 0.1


def object_region(height: np.ndarray, u: float, v: float, threshold: float = OBJECT_THRESHOLD,
                  search_px: int = 8) -> np.ndarray | None:
    """(S, S) bool mask of the object under (u, v): the region of ``height > threshold`` (touching objects
    apart where their heights differ by a step of :data:`OBJECT_STEP`, :func:`_object_labels`) that holds
    most object pixels in a (2·search_px + 1)² window around (u, v); None when that window has none or
    (u, v) lies off the image. Touching objects of the same height form one region."""
    return _region_at(_object_labels(height, threshold), u, v, search_px)


#: Height step (normalised units per pixel, 0.1 = 5 mm) that separates two touching objects in
#: :func:`object_region`.
OBJECT_STEP = 0.1


def _object_labels(height: np.ndarray, threshold: float, step: float = OBJECT_STEP) -> np.ndarray:
    """(H, W) int32 object labels of ``height > threshold`` (0: table), touching objects of different heights
    apart: the pixels whose height changes by less than ``step`` per pixel (Sobel gradient / 8) form
    4-connected cores, and every other object pixel within 3 px of a core joins the nearest one (so the
    silhouette keeps its edge); object pixels farther from any core (specks of noise) get their own
    8-connected labels."""
    import cv2
    from scipy.ndimage import distance_transform_edt

    h = np.asarray(height, np.float32)
    fg = h > threshold
    grad = np.hypot(cv2.Sobel(h, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(h, cv2.CV_32F, 0, 1, ksize=3)) / 8.0
    n, core = cv2.connectedComponents((fg & (grad < step)).astype(np.uint8), connectivity=4)
    if n < 2:
        return cv2.connectedComponents(fg.astype(np.uint8), connectivity=8)[1]
    dist, (ri, ci) = distance_transform_edt(core == 0, return_indices=True)
    lab = np.where(fg & (dist <= 3.0), core[ri, ci], 0).astype(np.int32)
    rest = fg & (lab == 0)
    if rest.any():
        m, extra = cv2.connectedComponents(rest.astype(np.uint8), connectivity=8)
        lab[rest] = extra[rest] + n
    return lab


def _region_at(lab: np.ndarray, u: float, v: float, search_px: int = 8) -> np.ndarray | None:
    """:func:`object_region` on labels already computed."""
    c, r = int(round(u)), int(round(v))
    if not (0 <= r < lab.shape[0] and 0 <= c < lab.shape[1]):  # off the image (e.g. outside the centre crop)
        return None
    win = lab[max(r - search_px, 0):r + search_px + 1, max(c - search_px, 0):c + search_px + 1]
    win = win[win > 0]
    return lab == np.bincount(win).argmax() if win.size else None


def principal_axis(mask: np.ndarray) -> tuple[float, float, float]:
    """(u, v, θ) of a non-empty bool mask: its centroid (px) and the angle of its major axis (rad, the
    :class:`grasp_core.grasp.Grasp` convention: counter-clockwise on screen from +u), from the second
    central moments (θ_img = ½·atan2(2μ11, μ20 − μ02) in image coordinates, v down; θ = −θ_img)."""
    import cv2

    m = cv2.moments(np.asarray(mask, np.uint8), binaryImage=True)
    theta = 0.5 * np.arctan2(2.0 * m["mu11"], m["mu20"] - m["mu02"])
    return m["m10"] / m["m00"], m["m01"] / m["m00"], float(-theta)


def object_crops(height: np.ndarray, points: np.ndarray, window_px: float | None = None, grid: int = 32,
                 threshold: float = OBJECT_THRESHOLD) -> np.ndarray:
    """Object-level crops: for each point, the height map of the object under it (:func:`object_region`,
    other pixels 0) in a window centred on the object's centroid and turned to its major axis
    (:func:`principal_axis`; the 180° ambiguity resolved by :func:`canonical_flip` on the heights), flattened.
    The window's side is ``window_px``, or with None (default) 2.2 × the object's largest distance from its
    centroid along the two axes (at least 17.6 px): the object fills the raster whatever its size or the
    camera's distance, so the vector holds its shape, not its scale.

    Unlike the grasp-aligned window (:func:`image_crops` at the grasp), the vector depends on the object,
    not on which grasp of it was detected (docs/shapes.md: the grasp-local window and the detector's pose
    scatter limit the few-shot classifier before its features do).

    Args:
        height: (H, W) float normalised depth (object heights positive; a non-square image is padded with
            table, 0, on the right or bottom). points: (K, 2) (u, v) px on the objects.

    Returns:
        (K, grid²) float32; a point with no object near it gives zeros.
    """
    h = np.clip(np.asarray(height, np.float32), 0.0, None)
    if h.shape[0] != h.shape[1]:  # the windows are defined on a square image (grasp_windows)
        side = max(h.shape)
        h = np.pad(h, ((0, side - h.shape[0]), (0, side - h.shape[1])))
    lab = _object_labels(h, threshold)  # once per image, not per point
    out = np.zeros((len(points), grid * grid), np.float32)
    for k, (u, v) in enumerate(np.asarray(points, np.float64).reshape(-1, 2)):
        m = _region_at(lab, u, v)
        if m is None:
            continue
        cu, cv, theta = principal_axis(m)
        side = window_px
        if side is None:
            vs, us = np.nonzero(m)
            ca, sa = np.cos(theta), -np.sin(theta)  # the major axis in image px (v down)
            along, across = (us - cu) * ca + (vs - cv) * sa, -(us - cu) * sa + (vs - cv) * ca
            side = 2.2 * max(float(np.abs(along).max()), float(np.abs(across).max()), 8.0)
        hm = h * m
        out[k] = image_crops(hm, np.array([[cu, cv]]), np.array([theta]), side, grid,
                             mass=hm, padding_mode="zeros")[0]
    return out


#: Polar raster of :func:`object_silhouettes` (rings, samples per ring) and the Fourier coefficients kept
#: (radial, angular frequencies).
SILHOUETTE_RINGS, SILHOUETTE_ANGLES, SILHOUETTE_RADIAL, SILHOUETTE_ANGULAR = 12, 64, 4, 6


def object_silhouettes(height: np.ndarray, points: np.ndarray, rings: int = SILHOUETTE_RINGS,
                       angles: int = SILHOUETTE_ANGLES, radial: int = SILHOUETTE_RADIAL,
                       angular: int = SILHOUETTE_ANGULAR, threshold: float = OBJECT_THRESHOLD) -> np.ndarray:
    """Rotation-invariant silhouette descriptors of the objects under points: the generic Fourier descriptor
    (Zhang & Lu, "Shape-based image retrieval using generic Fourier descriptor", Signal Processing: Image
    Communication 17(10), 2002).

    For each point, the object under it (:func:`object_region`) as a 0/1 silhouette is sampled on a polar
    raster around its centroid (``rings`` radii r_i = 1.05·(i + ½)/rings · r_max, r_max the region's
    largest pixel distance from the centroid; ``angles`` directions; bilinear), and the raster's 2-D
    discrete Fourier transform is taken; the magnitudes ½(|F(ρ, φ)| + |F(−ρ, φ)|) of radial frequencies
    ρ = 0 … ``radial`` − 1 and angular frequencies φ = 0 … ``angular`` − 1, divided by the raster size,
    L2-normalised, are the vector. A turn of the object is a circular shift along the angle, which
    multiplies F(ρ, φ) by a phase factor, and a mirror image reverses the angle, which maps |F(ρ, φ)| to
    |F(ρ, −φ)| = |F(−ρ, φ)| (a real raster): the sum over ±ρ is unchanged by both (Zhang & Lu keep ρ ≥ 0
    only, which is not mirror-invariant; a part turned over is the same part). The centroid and r_max
    remove position and scale; heights are not used (the silhouette does not change with the object's
    height or the camera's distance). Unlike the magnitudes of each ring alone, the 2-D transform keeps
    how the rings' patterns line up with each other (an L and a T have rings of similar content, turned
    differently; docs/shapes.md).

    Unlike :func:`object_crops` it needs no major axis, which objects with several equal arms (a star,
    a cross) or near-square outlines do not have: their crops turn with the image, these vectors do not.

    Args:
        height: (H, W) float normalised depth (object heights positive), any size.
        points: (K, 2) (u, v) px on the objects.

    Returns:
        (K, radial·angular) float32; a point with no object near it gives zeros.
    """
    import cv2

    h = np.clip(np.asarray(height, np.float32), 0.0, None)
    lab = _object_labels(h, threshold)
    out = np.zeros((len(points), radial * angular), np.float32)
    frac = 1.05 * (np.arange(rings) + 0.5) / rings
    phi = np.arange(angles) * 2.0 * np.pi / angles
    for k, (u, v) in enumerate(np.asarray(points, np.float64).reshape(-1, 2)):
        m = _region_at(lab, u, v)
        if m is None:
            continue
        vs, us = np.nonzero(m)
        cu, cv = us.mean(), vs.mean()
        r = frac * max(float(np.sqrt(((us - cu) ** 2 + (vs - cv) ** 2).max())), 1.0)
        mu = (cu + r[:, None] * np.cos(phi)[None]).astype(np.float32)
        mv = (cv + r[:, None] * np.sin(phi)[None]).astype(np.float32)
        raster = cv2.remap(m.astype(np.float32), mu, mv, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        mag = np.abs(np.fft.fft2(raster)) / raster.size
        f = (0.5 * (mag + np.roll(mag[::-1], 1, axis=0)))[:radial, :angular].ravel()  # |F(ρ, φ)|, |F(−ρ, φ)| averaged
        n = float(np.linalg.norm(f))
        out[k] = f / n if n > 0 else f
    return out


def central_object_point(height: np.ndarray, threshold: float = OBJECT_THRESHOLD, min_px: int = 50
                         ) -> np.ndarray | None:
    """(u, v) px on the object region (:func:`object_region`'s segmentation, at least ``min_px`` pixels)
    whose centroid is nearest the image centre — its pixel nearest that centroid — or None when there is
    none: the part of a support image, which shows it alone on the table."""
    lab = _object_labels(height, threshold)
    area = np.bincount(lab.ravel())
    ok = np.nonzero(area >= min_px)[0]
    ok = ok[ok > 0]
    if ok.size == 0:
        return None
    vs, us = np.nonzero(lab)  # object pixels; their labels give each region's centroid in one pass
    k = lab[vs, us]
    cu = np.bincount(k, weights=us, minlength=len(area))[ok] / area[ok]
    cv = np.bincount(k, weights=vs, minlength=len(area))[ok] / area[ok]
    i = int(np.argmin((cu - (lab.shape[1] - 1) / 2.0) ** 2 + (cv - (lab.shape[0] - 1) / 2.0) ** 2))
    on = k == ok[i]  # the region's pixel nearest its centroid (a ring's centroid is in its hole)
    j = int(np.argmin((us[on] - cu[i]) ** 2 + (vs[on] - cv[i]) ** 2))
    return np.array([us[on][j], vs[on][j]], np.float64)

__all__ = ["WINDOW_PX", "GRID", "OBJECT_THRESHOLD", "grasp_windows", "aligned_windows", "canonical_flip",
           "roi_vectors", "image_crops", "OBJECT_STEP", "object_region", "principal_axis", "object_crops",
           "object_silhouettes", "central_object_point"]
