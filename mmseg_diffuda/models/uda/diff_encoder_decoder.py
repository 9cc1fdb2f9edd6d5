"""DIFF's student segmentor: a plain and a GT-conditioned diffusion pass with a consistency loss."""
from typing import List, Optional, Tuple, Union

import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptMultiConfig, SampleList, add_prefix
from torch import Tensor

from ..utils.seg_loss import pixel_weighted_head_loss
from .dacs import stack_labels
from .uda_encoder_decoder import UDAEncoderDecoder


@MODELS.register_module()
class DiffEncoderDecoder(UDAEncoderDecoder):
    """:class:`UDAEncoderDecoder` with DIFF's conditional training pass ("IPKL").

    DIFF (Ji et al., ICASSP 2025), official ``mmseg/models/segmentors/encoder_decoder.py``
    (``forward_train`` with ``diff_train=True``, ``mse_loss``). With ``conditional_pass`` the
    training loss of labelled images runs the backbone twice:

    .. code:: text

        z = backbone.encode_latent(x)                      once (the original encodes twice)
        f_c = backbone.features_from_latent(z, labels)     path-controlled by the labels
        f_p = backbone.features_from_latent(z)             plain (as at inference)
        L = CE(head(f_c)) + CE(head(f_p)) + lambda * MSE(head(f_c), head(f_p))

    Both CE terms take ``seg_weight`` (DACS's mixed pixel weights; the mixed image's labels then
    drive the path control, as in the original UDA path); the MSE compares the two logit maps at
    the head's output resolution (stride 4), with gradients through both. Prediction uses the
    plain pass (``extract_feat`` passes no labels). Without ``conditional_pass`` this is a
    :class:`UDAEncoderDecoder`.

    Loss keys: ``decode.*`` (plain pass), ``decode_cond.*`` (conditional pass),
    ``loss_consistency``.

    Args:
        backbone (ConfigType): A :class:`DiffusionFeatureBackbone` config.
        decode_head (ConfigType): Decode head config.
        neck (OptConfigType): Neck config. Defaults to None.
        auxiliary_head (OptConfigType): Auxiliary heads (trained on the plain pass). Defaults
            to None.
        train_cfg (OptConfigType): Training config. Defaults to None.
        test_cfg (OptConfigType): Testing config. Defaults to None.
        data_preprocessor (OptConfigType): Preprocessor config. Defaults to None.
        pretrained (str, optional): Backbone checkpoint. Defaults to None.
        conditional_pass (bool): Add the GT-conditioned pass and the consistency loss (DIFF's
            ``diff_train=True``). Defaults to True.
        consistency_weight (float): lambda of the MSE. Defaults to 1.0 (official).
        init_cfg (OptMultiConfig): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 neck: OptConfigType = None,
                 auxiliary_head: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 conditional_pass: bool = True,
                 consistency_weight: float = 1.0,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            backbone=backbone,
            decode_head=decode_head,
            neck=neck,
            auxiliary_head=auxiliary_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            pretrained=pretrained,
            init_cfg=init_cfg)
        if conditional_pass and not hasattr(self.backbone, 'features_from_latent'):
            raise TypeError('DiffEncoderDecoder: conditional_pass needs a backbone with '
                            'encode_latent/features_from_latent (DiffusionFeatureBackbone), got '
                            f'{type(self.backbone).__name__}.')
        self.conditional_pass = conditional_pass
        self.consistency_weight = consistency_weight

    def loss(self,
             inputs: Tensor,
             data_samples: SampleList,
             seg_weight: Optional[Tensor] = None,
             return_feats: bool = False) -> Union[dict, Tuple[dict, List[Tensor]]]:
        """Losses of both passes and their consistency (see the class docstring).

        Args:
            inputs (Tensor): Normalised images (B, 3, H, W).
            data_samples (list[SegDataSample]): Samples with ``gt_sem_seg``.
            seg_weight (Tensor, optional): Pixel weights (B, H, W). Defaults to None.
            return_feats (bool): Also return the plain-pass features. Defaults to False.

        Returns:
            dict[str, Tensor] | tuple[dict, list[Tensor]]: The losses (and features).
        """
        if not self.conditional_pass:
            return super().loss(inputs, data_samples, seg_weight, return_feats)
        latent = self.backbone.encode_latent(inputs)
        feats_cond = self._neck(self.backbone.features_from_latent(
            latent, stack_labels(data_samples)))
        feats_plain = self._neck(self.backbone.features_from_latent(latent))
        logits_cond = self.decode_head(feats_cond)
        logits_plain = self.decode_head(feats_plain)
        losses = add_prefix(pixel_weighted_head_loss(
            self.decode_head, logits_plain, data_samples, seg_weight), 'decode')
        losses.update(add_prefix(pixel_weighted_head_loss(
            self.decode_head, logits_cond, data_samples, seg_weight), 'decode_cond'))
        losses['loss_consistency'] = self.consistency_weight * F.mse_loss(
            logits_cond, logits_plain)
        losses.update(self.auxiliary_head_losses(feats_plain, data_samples, seg_weight))
        return (losses, feats_plain) if return_feats else losses

    def _neck(self, feats: List[Tensor]) -> List[Tensor]:
        """Apply the neck, if any."""
        return self.neck(feats) if self.with_neck else feats
