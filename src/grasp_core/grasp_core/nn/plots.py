"""Training curves (PNG) of a run's history."""
from __future__ import annotations

from pathlib import Path


def plot_curves(history: list[dict], path: Path, title: str) -> None:
    """Write ``path`` (PNG): train / held-out loss and held-out rectangle accuracy per epoch of ``history``
    (the dicts :func:`grasp_core.nn.train.train` appends: epoch, train_loss, val_loss, val_acc)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(8, 3), dpi=80)
    ep = [h["epoch"] for h in history]
    ax[0].plot(ep, [h["train_loss"] for h in history], label="train")
    ax[0].plot(ep, [h["val_loss"] for h in history], label="held-out")
    ax[0].set_xlabel("epoch")
    ax[0].set_ylabel("loss")
    ax[0].legend()
    ax[1].plot(ep, [h["val_acc"] for h in history], "g.-")
    ax[1].set_xlabel("epoch")
    ax[1].set_ylabel("held-out rectangle acc.")
    ax[1].set_ylim(0, 1)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
