"""The student segmentor of self-training: an EncoderDecoder with pixel-weighted losses."""
from typing import List, Optional, Tuple, Union

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList, add_prefix
from torch import Tensor, nn

from ..utils.seg_loss import pixel_weighted_head_loss

LossesAndFeats = Tuple[dict, List[Tensor]]


@MODELS.register_module()
class UDAEncoderDecoder(EncoderDecoder):
    """EncoderDecoder whose ``loss`` mode takes pixel weights and can return the features.

    Self-training computes every student loss through ``forward`` because, under
    ``MMSeparateDistributedDataParallel``, the student is a DDP child and DDP only all-reduces
    the gradients of a pass made through the wrapper's forward (one forward, then one backward).
    DAFormer's ``forward_train(img, img_metas, gt, seg_weight=None, return_feat=False)``
    (official ``mmseg/models/segmentors/encoder_decoder.py``) is therefore mapped onto
    ``forward(inputs, data_samples, mode='loss', seg_weight=..., return_feats=...)``:

    .. code:: text

        forward(mode='loss', seg_weight, return_feats)
          └─ loss(): extract_feat() -> head_losses(): decode head + auxiliary_head_losses()
                     seg_weight None: the heads' own ``loss`` (same as EncoderDecoder)
                     seg_weight given: pixel_weighted_head_loss (DAFormer's weighted CE)
                     return_feats: also return the extract_feat() features (for DAFormer's
                     ImageNet feature distance), from the same pass and graph

    The ``'predict'`` and ``'tensor'`` modes are those of :class:`EncoderDecoder`, so the class
    is a drop-in replacement for it (configs only change ``type``) and checkpoints are
    interchangeable.
    """

    def forward(self,
                inputs: Tensor,
                data_samples: OptSampleList = None,
                mode: str = 'tensor',
                seg_weight: Optional[Tensor] = None,
                return_feats: bool = False):
        """Dispatch like :meth:`EncoderDecoder.forward`, with two extra ``loss`` options.

        Args:
            inputs (Tensor): Normalised images (B, 3, H, W).
            data_samples (list[SegDataSample], optional): Samples with ``gt_sem_seg`` for
                ``mode='loss'``.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``. Defaults to ``'tensor'``.
            seg_weight (Tensor, optional): Pixel weights (B, H, W) of the loss (``'loss'``
                only). Defaults to None.
            return_feats (bool): Also return the features (``'loss'`` only). Defaults to False.

        Returns:
            The output of the mode; for ``'loss'`` a dict of losses, or ``(losses, feats)`` when
            ``return_feats`` is True.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples, seg_weight=seg_weight,
                             return_feats=return_feats)
        if seg_weight is not None or return_feats:
            raise ValueError(f'UDAEncoderDecoder: seg_weight and return_feats only apply to '
                             f'mode="loss", got mode="{mode}".')
        return super().forward(inputs, data_samples, mode)

    def loss(self,
             inputs: Tensor,
             data_samples: SampleList,
             seg_weight: Optional[Tensor] = None,
             return_feats: bool = False) -> Union[dict, LossesAndFeats]:
        """Losses of the decode head and auxiliary heads, optionally pixel-weighted.

        Args:
            inputs (Tensor): Normalised images (B, 3, H, W).
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg`` (1, H, W).
            seg_weight (Tensor, optional): Pixel weights (B, H, W) at label resolution.
                Defaults to None (unweighted, as :meth:`EncoderDecoder.loss`).
            return_feats (bool): Also return the ``extract_feat`` features. Defaults to False.

        Returns:
            dict[str, Tensor] | tuple[dict, list[Tensor]]: ``decode.*`` and ``aux*.`` losses
            (and the features).
        """
        feats = self.extract_feat(inputs)
        losses = self.head_losses(feats, data_samples, seg_weight)
        return (losses, feats) if return_feats else losses

    def head_losses(self, feats: List[Tensor], data_samples: SampleList,
                    seg_weight: Optional[Tensor] = None) -> dict:
        """Losses of the decode head and every auxiliary head, optionally pixel-weighted.

        Args:
            feats (list[Tensor]): Output of :meth:`extract_feat`.
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.
            seg_weight (Tensor, optional): Pixel weights (B, H, W). Defaults to None
                (unweighted, as :meth:`EncoderDecoder.loss`).

        Returns:
            dict[str, Tensor]: Losses prefixed ``decode.``, ``aux.`` or ``aux_<i>.`` like
            :class:`EncoderDecoder`.
        """
        if seg_weight is None:
            losses = self._decode_head_forward_train(feats, data_samples)
        else:
            losses = add_prefix(
                pixel_weighted_head_loss(self.decode_head, self.decode_head(feats),
                                         data_samples, seg_weight), 'decode')
        losses.update(self.auxiliary_head_losses(feats, data_samples, seg_weight))
        return losses

    def auxiliary_head_losses(self, feats: List[Tensor], data_samples: SampleList,
                              seg_weight: Optional[Tensor] = None) -> dict:
        """Losses of every auxiliary head (none without one), optionally pixel-weighted.

        Args:
            feats (list[Tensor]): Output of :meth:`extract_feat`.
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.
            seg_weight (Tensor, optional): Pixel weights (B, H, W). Defaults to None.

        Returns:
            dict[str, Tensor]: Losses prefixed ``aux.`` or ``aux_<i>.`` like
            :class:`EncoderDecoder`.
        """
        if not self.with_auxiliary_head:
            return {}
        if seg_weight is None:
            return self._auxiliary_head_forward_train(feats, data_samples)
        heads = self.auxiliary_head
        named = ([(f'aux_{i}', h) for i, h in enumerate(heads)]
                 if isinstance(heads, nn.ModuleList) else [('aux', heads)])
        losses = {}
        for prefix, head in named:
            losses.update(add_prefix(
                pixel_weighted_head_loss(head, head(feats), data_samples, seg_weight), prefix))
        return losses

