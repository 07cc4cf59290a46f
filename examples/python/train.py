#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small training loop that logs to a libmlops store from Python.

    PYTHONPATH=bindings/python python3 examples/python/train.py [STORE]

Logistic regression by gradient descent with numpy; prints the run id.
"""
import sys
import tempfile

import numpy as np

import mlops


def main():
    uri = sys.argv[1] if len(sys.argv) > 1 else "./mlops-data"
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, size=(512, 4))
    y = (x @ np.array([0.5, -1.0, 1.5, -2.0]) - 0.2 > 0).astype(float)
    lr, epochs = 0.5, 50
    with mlops.Store(uri) as store:
        with store.start_run("examples", name="logreg-numpy",
                             tags={"example": "train.py"}) as run:
            run.log_params({"learning_rate": lr, "epochs": epochs, "rows": len(x)})
            run.log_dataset(x.tobytes(), name="synthetic", rows=len(x))
            w, b = np.zeros(4), 0.0
            for epoch in range(epochs):
                p = 1 / (1 + np.exp(-(x @ w + b)))
                loss = -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
                w -= lr * x.T @ (p - y) / len(x)
                b -= lr * np.mean(p - y)
                run.log_metrics({"loss": loss, "accuracy": np.mean((p > 0.5) == y)}, step=epoch)
            with tempfile.NamedTemporaryFile(suffix=".npy") as f:
                np.save(f, np.append(w, b))
                f.flush()
                run.log_artifact(f.name, "model/weights.npy")
            print(run.run_id)
            print(f"final accuracy {run.latest_metric('accuracy'):.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
