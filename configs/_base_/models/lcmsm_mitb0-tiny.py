# Tiny LC-MSM network for the toy data and tests: daformer_mitb0-tiny.py plus a language head of
# the same width on the text tower of the toy CLIP (open_clip structure and CLIP's BPE tokenizer,
# 2 layers of width 32, 64-d output), so every code path of lcmsm_daformer_sepaspp_mitb5.py runs
# on CPU in seconds.
_base_ = ['./daformer_mitb0-tiny.py']
model = dict(
    type='LanguageConditionedEncoderDecoder',
    language_head=dict(
        type='LanguageConditionedHead',
        in_channels=[16, 32, 80, 128],
        in_index=[0, 1, 2, 3],
        channels=32,  # the main head's width, as LC-MSM's two heads share theirs
        embed_dims=32,
        fusion_cfg=dict(type='ASPPFusion', dilations=(1, 6, 12, 18), sep=True, pool=False),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg={{_base_.norm_cfg}},
        align_corners=False,
        tau=0.07,
        block_depth=2,
        text_encoder=dict(
            type='OpenCLIPClassEmbeddings',
            class_names=None,  # the 19 Cityscapes classes
            # The toy CLIP (tools/pretrain_toy_models.py --models clip): an open_clip model folder
            # (open_clip_config.json + weights, the hub layout), trained contrastively on the toy
            # corpus' image/caption pairs; its text tower has CLIP's tokenizer and structure.
            model_name='local-dir:data/toy_models/clip-tiny',
            pretrained='data/toy_models/clip-tiny/open_clip_pytorch_model.bin',
            seed=0),
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=False)))
