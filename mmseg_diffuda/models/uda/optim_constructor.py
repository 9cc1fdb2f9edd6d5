"""One optimiser wrapper per child module (segmenter and discriminator), as an OptimWrapperDict.

mmengine 0.10.7 builds an ``OptimWrapperDict`` only from ready-made wrappers; the constructor
that builds one wrapper per named child from configs lives in downstream libraries (mmagic's
``MultipleOptimizerConstructor``, MMGeneration's GAN constructors). Adversarial UDA needs it:
AdaptSegNet (Tsai et al., CVPR 2018) and ADVENT (Vu et al., CVPR 2019) train the segmenter and
the discriminator with separate optimisers (SGD and Adam).
"""
import copy
from typing import Optional

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ChildOptimWrapperConstructor:
    """Build an :class:`OptimWrapperDict` with one wrapper per named child of the model.

    Config (keys are child names; each value is an ordinary ``optim_wrapper`` config, with its
    own ``paramwise_cfg`` and optionally its own ``constructor``):

    .. code:: python

        optim_wrapper = dict(
            constructor='ChildOptimWrapperConstructor',
            student=dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=6e-5)),
            discriminator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4)))

    Every trainable parameter of the model must belong to exactly one listed child, so no
    parameter is left without an optimiser and none is stepped twice.

    Args:
        optim_wrapper_cfg (dict): ``{child name: optim_wrapper config}``.
        paramwise_cfg (dict, optional): Must be None (give it per child).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        if paramwise_cfg is not None:
            raise ValueError('ChildOptimWrapperConstructor: give paramwise_cfg inside each '
                             'child entry (e.g. optim_wrapper.student.paramwise_cfg), not at '
                             'the top level.')
        if not optim_wrapper_cfg:
            raise ValueError('ChildOptimWrapperConstructor: optim_wrapper lists no child; add '
                             'e.g. student=dict(...) and discriminator=dict(...).')
        self.optim_wrapper_cfg = optim_wrapper_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        """Build the wrappers.

        Args:
            model (nn.Module): The model (or its DDP wrapper).

        Returns:
            OptimWrapperDict: One wrapper per listed child.
        """
        module = model.module if is_model_wrapper(model) else model
        self._check_coverage(module)
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            cfg = copy.deepcopy(dict(cfg))
            constructor = cfg.pop('constructor', 'DefaultOptimWrapperConstructor')
            paramwise_cfg = cfg.pop('paramwise_cfg', None)
            builder = (DefaultOptimWrapperConstructor(cfg, paramwise_cfg)
                       if constructor == 'DefaultOptimWrapperConstructor' else
                       OPTIM_WRAPPER_CONSTRUCTORS.build(
                           dict(type=constructor, optim_wrapper_cfg=cfg,
                                paramwise_cfg=paramwise_cfg)))
            wrappers[name] = builder(getattr(module, name))
        return OptimWrapperDict(**wrappers)

    def _check_coverage(self, module: nn.Module) -> None:
        """Every listed child exists; every trainable parameter is in a listed child."""
        children = dict(module.named_children())
        missing = [name for name in self.optim_wrapper_cfg if name not in children]
        if missing:
            raise KeyError(f'ChildOptimWrapperConstructor: the model has no child {missing}; '
                           f'its children are {sorted(children)}.')
        orphans = [name for name, child in children.items()
                   if name not in self.optim_wrapper_cfg
                   and any(p.requires_grad for p in child.parameters())]
        if orphans:
            raise KeyError(f'ChildOptimWrapperConstructor: children {orphans} have trainable '
                           'parameters but no optimiser; add an entry for each to optim_wrapper.')
