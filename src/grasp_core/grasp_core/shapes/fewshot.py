"""Few-shot shape classifier: PCA + one RBF-SVM per candidate layer, layer chosen by support accuracy.

Method (Yokota et al.): per candidate layer l,

1. PCA (``pca_dims`` components, clipped to what the data allow; no standardisation: the
   vectors are already power- and L2-normalised, and z-scoring them cost the ``refined_roi``
   features 0.10-0.15 accuracy in Exp. 2-5, docs/shapes.md) fitted on the support and query
   vectors together (transductive, as the paper does; with no query yet, on the support alone);
2. an RBF-kernel SVM (γ = "scale": 1 / (n_features · Var(X))) with C chosen by grid
   search over :data:`C_GRID`, scored by stratified k-fold cross-validation on the
   support set (k = min(5, smallest class size); with one image per class, the
   training accuracy);
3. the layer with the best support accuracy (the cross-validated accuracy of
   its best C; ties → the higher training accuracy, then the deeper layer)
   classifies the queries.

Confidence of a prediction: the softmax of the one-vs-rest SVM decision values
(a score in [0, 1], not a calibrated probability).

State (:meth:`FewShotClassifier.save`): ``<path>.npz`` with the support vectors of
every layer (``feat_<layer>`` float32) and labels (``labels`` int32), and
``<path>.json`` with class names, layers, per-layer C and accuracies, the selected
layer, PCA dims; both plain data (``numpy.load(allow_pickle=False)``), no pickle.
The SVMs are refitted from them in milliseconds.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

C_GRID = (0.1, 1.0, 10.0, 100.0, 1000.0)  # powers of ten, as a grid search usually starts
STATE_FORMAT = "grasp_fewshot_state/1"


class FewShotError(ValueError):
    """Unusable support set, query or state file."""


@dataclass
class LayerResult:
    """Per-layer outcome of :meth:`FewShotClassifier.fit`."""

    C: float
    support_accuracy: float  # cross-validated
    train_accuracy: float


def _projection(data: np.ndarray, dims: int):
    """PCA (centred, not standardised) fitted on ``data`` (N, d); returns the transform (M, d) → (M, k)."""
    from sklearn.decomposition import PCA

    k = int(max(1, min(dims, data.shape[0] - 1, data.shape[1])))
    return PCA(n_components=k, svd_solver="full").fit(data).transform


def _project(train: np.ndarray, extra: np.ndarray | None, dims: int) -> tuple[np.ndarray, np.ndarray | None]:
    """PCA fitted on train ∪ extra; returns their projections."""
    if extra is None or len(extra) == 0:
        return _projection(train, dims)(train), None
    t = _projection(np.concatenate([train, extra]), dims)
    return t(train), t(extra)


def _fit_layer(z: np.ndarray, y: np.ndarray, c_grid=C_GRID, fixed_c: float | None = None):
    """(svm fitted on all of z, LayerResult): C by stratified k-fold CV accuracy (k = min(3, smallest class))."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import SVC

    counts = np.bincount(y)
    folds = int(min(3, counts[counts > 0].min()))
    splits = list(StratifiedKFold(folds, shuffle=True, random_state=0).split(z, y)) if folds >= 2 else []
    best = None
    for c in ([fixed_c] if fixed_c is not None else c_grid):
        cv = float("nan")
        if splits:
            hits = 0
            for tr, te in splits:
                hits += int((SVC(C=c, kernel="rbf", gamma="scale").fit(z[tr], y[tr]).predict(z[te]) == y[te]).sum())
            cv = hits / len(y)
        svm = SVC(C=c, kernel="rbf", gamma="scale").fit(z, y)
        tr_acc = float((svm.predict(z) == y).mean())
        score = cv if splits else tr_acc
        if best is None or score > best[1].support_accuracy + 1e-12:
            best = (svm, LayerResult(float(c), score, tr_acc))
    return best


@dataclass
class FewShotClassifier:
    """PCA + per-layer RBF-SVM few-shot classifier (module docstring).

    Attributes:
        pca_dims: PCA components per layer.
        classes: class names (label i ↔ classes[i]).
        layers: candidate layer names, in order.
        support: {layer: (Ns, d_l) float32} support vectors.
        labels: (Ns,) int32 support labels.
        results: {layer: LayerResult} after :meth:`fit`.
        selected: the selected layer.
    """

    pca_dims: int = 10
    classes: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    support: dict[str, np.ndarray] = field(default_factory=dict)
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    results: dict[str, LayerResult] = field(default_factory=dict)
    selected: str = ""

    def fit(self, support: dict[str, np.ndarray], labels: list[str] | np.ndarray,
            query: dict[str, np.ndarray] | None = None, layers: list[str] | None = None) -> FewShotClassifier:
        """Fit every layer's PCA + SVM and select the layer.

        Args:
            support: {layer: (Ns, d_l) float} support vectors, the same Ns rows in every layer.
            labels: (Ns,) class names of the support rows.
            query: optional {layer: (Nq, d_l)} query vectors for the transductive PCA.
            layers: candidate layers (default: all keys of ``support``, in insertion order).

        Raises:
            FewShotError: fewer than 2 classes, mismatched rows, non-finite values.
        """
        names = [str(s) for s in labels]
        self.classes = sorted(set(names))
        if len(self.classes) < 2:
            raise FewShotError(f"the support set needs at least 2 classes, got {self.classes}")
        self.labels = np.array([self.classes.index(s) for s in names], np.int32)
        self.layers = list(layers or support.keys())
        self.support = {}
        for name in self.layers:
            f = np.asarray(support[name], np.float32)
            if f.ndim != 2 or f.shape[0] != len(names):
                raise FewShotError(f"layer {name}: support features {f.shape} do not match {len(names)} labels")
            if not np.isfinite(f).all():
                raise FewShotError(f"layer {name}: non-finite support features")
            self.support[name] = f
        self.results = {}
        self._svms = {}
        for name in self.layers:
            z, _ = _project(self.support[name], None if query is None else np.asarray(query[name], np.float32),
                            self.pca_dims)
            self._svms[name], self.results[name] = _fit_layer(z, self.labels)
        self.selected = select_layer(self.results, self.layers)
        return self

    def predict(self, query: dict[str, np.ndarray] | np.ndarray, layer: str | None = None,
                transductive: bool = True) -> tuple[list[str], np.ndarray]:
        """Classify query vectors with one layer (default: the selected one).

        PCA is refitted on support ∪ query (``transductive``) or on the support alone; the
        layer's SVM is refitted on the projected support with the layer's C.

        Args:
            query: {layer: (Nq, d_l)} or the (Nq, d_l) array of ``layer``.

        Returns:
            (Nq class names, (Nq,) float32 confidence in [0, 1]).

        Raises:
            FewShotError: not fitted, or query of the wrong width / non-finite.
        """
        if not self.selected:
            raise FewShotError("classifier has no support set (load one first)")
        layer = layer or self.selected
        q = np.asarray(query[layer] if isinstance(query, dict) else query, np.float32)
        d = self.support[layer].shape[1]
        if q.ndim != 2 or q.shape[1] != d:
            raise FewShotError(f"query features {q.shape} do not fit layer {layer} (width {d})")
        if len(q) == 0:
            return [], np.zeros(0, np.float32)
        if not np.isfinite(q).all():
            raise FewShotError("non-finite query features")
        if transductive:
            zs, zq = _project(self.support[layer], q, self.pca_dims)
        else:
            t = _projection(self.support[layer], self.pca_dims)
            zs, zq = t(self.support[layer]), t(q)
        svm, _ = _fit_layer(zs, self.labels, fixed_c=self.results[layer].C)
        pred = svm.predict(zq)
        dec = np.asarray(svm.decision_function(zq), np.float64)
        if dec.ndim == 1:  # two classes: one decision value for class 1
            dec = np.stack([-dec, dec], 1)
        e = np.exp(dec - dec.max(1, keepdims=True))
        conf = (e / e.sum(1, keepdims=True)).max(1)
        return [self.classes[int(i)] for i in pred], conf.astype(np.float32)

    # ---- state as plain arrays + JSON -------------------------------------------------
    def save(self, path: str | Path, extra: dict | None = None) -> tuple[Path, Path]:
        """Write ``<path>.npz`` and ``<path>.json`` (module docstring). Returns both paths."""
        if not self.selected:
            raise FewShotError("nothing to save: no support set fitted")
        base = Path(path).with_suffix("")
        base.parent.mkdir(parents=True, exist_ok=True)
        npz, js = base.with_suffix(".npz"), base.with_suffix(".json")
        np.savez(npz, labels=self.labels, **{f"feat_{k}": v for k, v in self.support.items()})
        js.write_text(json.dumps({
            "format": STATE_FORMAT, "classes": self.classes, "layers": self.layers, "pca_dims": self.pca_dims,
            "selected_layer": self.selected,
            "results": {k: vars(r) for k, r in self.results.items()}, **(extra or {})}, indent=1) + "\n")
        return npz, js

    @classmethod
    def load(cls, path: str | Path) -> tuple[FewShotClassifier, dict]:
        """Read a state written by :meth:`save` (``path`` with or without suffix).

        Returns:
            (the classifier, the JSON dict).

        Raises:
            FewShotError: missing or malformed files.
        """
        base = Path(path).with_suffix("")
        npz, js = base.with_suffix(".npz"), base.with_suffix(".json")
        if not npz.is_file() or not js.is_file():
            raise FewShotError(f"no classifier state at {base} (.npz + .json)")
        try:
            meta = json.loads(js.read_text())
            with np.load(npz, allow_pickle=False) as z:
                support = {k: z[f"feat_{k}"] for k in meta["layers"]}
                labels = z["labels"]
        except (ValueError, KeyError, OSError) as exc:
            raise FewShotError(f"bad classifier state {base}: {exc}") from exc
        if meta.get("format") != STATE_FORMAT:
            raise FewShotError(f"{js}: not a {STATE_FORMAT} file")
        clf = cls(int(meta["pca_dims"]), list(meta["classes"]), list(meta["layers"]),
                  {k: np.asarray(v, np.float32) for k, v in support.items()}, np.asarray(labels, np.int32),
                  {k: LayerResult(**v) for k, v in meta["results"].items()}, str(meta["selected_layer"]))
        return clf, meta


def select_layer(results: dict[str, LayerResult], layers: list[str]) -> str:
    """The layer with the best support accuracy; ties → higher training accuracy, then the deeper layer."""
    return max(layers, key=lambda n: (round(results[n].support_accuracy, 9), round(results[n].train_accuracy, 9),
                                      layers.index(n)))
