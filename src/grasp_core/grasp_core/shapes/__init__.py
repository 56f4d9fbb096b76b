"""Few-shot shape classification of grasp detections (Yokota et al.).

Modules:
    data: simulated 300x300 top-down depth images of the shapes (MuJoCo, grasp_core.synth objects)
        with analytic grasp rectangles and instance masks.
    ssd: the SSD-style grasp detector (VGG-style base, default boxes, (x, y, w, h, θ) encoding, NMS).
    refine: guided backpropagation of a detection's grasp score to the 10 candidate layers (Eq. 1-2)
        and the pooled feature vector per layer.
    roi: grasp-aligned windows and crops; the object-level features (the depth-segmented object's height
        crop, ``object_crops``, and its generic Fourier descriptor, ``object_silhouettes``: the node's default).
    fewshot: PCA + one RBF-SVM per layer, C by grid search, layer chosen by support accuracy;
        state saved as plain arrays (.npz + JSON, no pickle).
    support: support folders (also taught in the simulated cell), the complete classifier, and a detector
        wrapper whose detections carry its labels.
    experiments: the paper's experiments 1-5 on simulated data.

Reference: Yokota, Kanezaki, et al., few-shot shape classification from a grasp
detector's guided-backpropagation-refined activations (PCA + RBF-SVM, automatic layer selection).
"""
