"""PyTorch networks, training and ONNX export (the only part of grasp_core that imports torch)."""
