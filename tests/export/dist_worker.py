#!/usr/bin/python3
"""torch.distributed export for tests/export/test_export.py: 2 CPU ranks over gloo.

    dist_worker.py OUT PORT [WORLD]

spawns WORLD (2) processes with torch.multiprocessing; each joins a gloo process group, takes
its DistributedSampler shard of dataset() (shuffled, so the ranks' orders are not the
dataset's; 37 rows, so the sampler pads with a repeat) and calls export_torch(OUT, ...) with
the models of models(), and writes the
dataset indices it ran, in order, to OUT.order-RANK.json.  The test exports the same models over the whole dataset in one
process and compares.  Also importable: dataset(), models(), LAYERS, CLASSES, BATCH.
"""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import nncmp_export as nx  # noqa: E402

CLASSES = ["a", "b", "c"]
LAYERS = {"mlp": ["fc1"], "cnn": ["conv1", "fc"]}
N = 37
# one row per forward pass, so that a row's outputs do not depend on which rows share its
# batch (BLAS kernels differ by batch size in the last bit): the study must equal, bit for bit,
# the single-process export
BATCH = 1


def dataset():
    g = torch.Generator().manual_seed(5)
    y = torch.randint(0, 3, (N,), generator=g)
    x = torch.randn(N, 1, 6, 6, generator=g)
    return torch.utils.data.TensorDataset(x, y)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(36, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, padding=1)
        self.fc = nn.Linear(2 * 36, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.conv1(x)).flatten(1))


def models():
    torch.manual_seed(11)  # the same weights in every process
    return {"mlp": MLP(), "cnn": CNN()}


def worker(rank, world, out, port):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    try:
        ds = dataset()
        sampler = torch.utils.data.distributed.DistributedSampler(
            ds, num_replicas=world, rank=rank, shuffle=True, seed=3)
        loader = torch.utils.data.DataLoader(ds, batch_size=BATCH, sampler=sampler)
        nx.export_torch(out, models=models(), loader=loader, layers=LAYERS, classes=CLASSES,
                        dtype=np.float32)
        with open("%s.order-%d.json" % (out, rank), "w") as f:  # the order this rank ran
            f.write("[%s]\n" % ", ".join(str(int(i)) for i in sampler))
    finally:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    out, port = sys.argv[1], int(sys.argv[2])
    world = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    torch.multiprocessing.spawn(worker, args=(world, out, port), nprocs=world, join=True)
