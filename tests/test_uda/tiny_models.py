"""Tiny DAFormer students, synthetic UDA batches and a step-counting optimiser wrapper."""
from pathlib import Path
from typing import Optional, Tuple

import torch
from mmengine.config import Config, ConfigDict
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_diffuda  # noqa: F401  (registers the models)

REPO = Path(__file__).resolve().parents[2]
HEIGHT, WIDTH = 64, 128
init_default_scope('mmseg')


def tiny_segmentor_cfg(drop_path_rate: float = 0.1) -> ConfigDict:
    """The toy DAFormer network (configs/_base_/models/daformer_mitb0-tiny.py) as the student."""
    # A ConfigDict, as the Runner passes it (mmseg reads test_cfg.mode as an attribute).
    model = Config.fromfile(REPO / 'configs/_base_/models/daformer_mitb0-tiny.py').model
    model['type'] = 'UDAEncoderDecoder'
    model['backbone']['drop_path_rate'] = drop_path_rate
    return model


def build_model(type: str = 'DACS', drop_path_rate: float = 0.1, **kwargs):
    """Build and initialise a UDA model around the tiny student."""
    model = MODELS.build(dict(type=type, segmentor=tiny_segmentor_cfg(drop_path_rate), **kwargs))
    model.init_weights()
    model.train()
    return model


def make_batch(batch_size: int = 2, with_labels: bool = True,
               label_value: Optional[int] = None,
               size: Tuple[int, int] = (HEIGHT, WIDTH)) -> dict:
    """A collated batch as ``pseudo_collate`` returns it: uint8 BGR images and samples."""
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, *size), dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(img_shape=size, ori_shape=size))
        if with_labels:
            if label_value is None:
                label = torch.randint(0, 19, (1, *size))
            else:
                label = torch.full((1, *size), label_value)
            sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def uda_batch(batch_size: int = 2, label_value: Optional[int] = None) -> dict:
    """``dict(source=..., target=...)`` with labelled source and unlabelled target."""
    return dict(source=make_batch(batch_size, label_value=label_value),
                target=make_batch(batch_size, with_labels=False))


class CountingOptimWrapper(OptimWrapper):
    """OptimWrapper that counts ``backward``, ``step`` and ``zero_grad`` calls."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls = dict(backward=0, step=0, zero_grad=0)

    def backward(self, loss, **kwargs) -> None:
        self.calls['backward'] += 1
        super().backward(loss, **kwargs)

    def step(self, **kwargs) -> None:
        self.calls['step'] += 1
        super().step(**kwargs)

    def zero_grad(self, **kwargs) -> None:
        self.calls['zero_grad'] += 1
        super().zero_grad(**kwargs)


def optim_wrapper_for(model, lr: float = 1e-3) -> CountingOptimWrapper:
    """AdamW over the trainable parameters of ``model``."""
    params = [p for p in model.parameters() if p.requires_grad]
    return CountingOptimWrapper(torch.optim.AdamW(params, lr=lr))


def student_params(model) -> dict:
    """A detached copy of the student's parameters."""
    return {k: v.detach().clone() for k, v in model.student_module.named_parameters()}
