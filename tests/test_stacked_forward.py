"""Stacked forward passes give each replica its own module's outputs, on both paths.

The MLP path (batched matmuls, one big matmul for shared evaluation inputs) and the vmap
fallback (any other model, here cnn1d) are checked against the replicas' own
``nn.Module`` forward, and a cnn1d replica trained in a batch against the run alone.
"""

import numpy as np
import torch
from torch import nn
from torch.func import stack_module_state

import workbench as wb
from workbench.engine import train_replicas
from workbench.stacked_forward import _mlp_layers, predict_all, stacked_forward


def stacked(models):
    params, buffers = stack_module_state(models)
    return params, buffers


def test_mlp_path_per_replica_batches_and_shared_inputs_match_each_module():
    torch.manual_seed(0)
    models = [wb.MODELS.create("mlp", hidden=[16, 8]).build(5, 3) for _ in range(4)]
    assert _mlp_layers(models[0]) == ["linear:0", "relu", "linear:2", "relu", "linear:4"]
    params, buffers = stacked(models)
    x = torch.randn(4, 7, 5)
    out = stacked_forward(models[0])(params, buffers, x)
    shared = predict_all(models[0], params, buffers, x[0], chunk_elems=64)  # several chunks
    for r, m in enumerate(models):
        assert torch.allclose(out[r], m(x[r]), atol=1e-6)
        assert torch.allclose(shared[r], m(x[0]), atol=1e-6)


def test_gradients_through_the_mlp_path_are_each_replicas_own():
    torch.manual_seed(1)
    models = [wb.MODELS.create("mlp").build(6, 2) for _ in range(3)]
    params, buffers = stacked(models)
    x, y = torch.randn(3, 10, 6), torch.randint(0, 2, (3, 10))
    out = stacked_forward(models[0])(params, buffers, x)
    nn.functional.cross_entropy(out.flatten(0, 1), y.flatten(), reduction="sum").backward()
    for r, m in enumerate(models):
        nn.functional.cross_entropy(m(x[r]), y[r], reduction="sum").backward()
        for name, p in m.named_parameters():
            assert torch.allclose(params[name].grad[r], p.grad, atol=1e-5), name


def test_other_models_fall_back_to_vmap_and_match():
    torch.manual_seed(2)
    models = [wb.MODELS.create("cnn1d").build(40, 10) for _ in range(3)]
    assert _mlp_layers(models[0]) is None
    params, buffers = stacked(models)
    x = torch.randn(3, 5, 40)
    out = stacked_forward(models[0])(params, buffers, x)
    shared = predict_all(models[0], params, buffers, x[0])
    for r, m in enumerate(models):
        m.eval()
        assert torch.allclose(out[r], m(x[r]), atol=1e-5)
        assert torch.allclose(shared[r], m(x[0]), atol=1e-5)


def test_a_cnn1d_replica_in_a_batch_equals_the_run_alone():
    base = wb.RunConfig(dataset="mnist1d", dataset_params={"n_samples": 600}, model="cnn1d",
                        epochs=1, batch_size=64, track=16)
    cfgs = [base.replace(scheme="uniform", seed=0), base.replace(scheme="linupper", seed=1)]
    for alone, together in zip([wb.train(c) for c in cfgs], train_replicas(cfgs)):
        for k in alone.summary:
            assert abs(alone.summary[k] - together.summary[k]) < 1e-4, k
        assert np.allclose(alone.history["value"].to_numpy(float),
                           together.history["value"].to_numpy(float), rtol=1e-4, atol=1e-4,
                           equal_nan=True)
