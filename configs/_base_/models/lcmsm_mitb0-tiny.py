# Tiny LC-MSM network for the toy data and tests: daformer_mitb0-tiny.py plus a language head of
# the same width on a tiny random OpenCLIP text tower (ViT-H-14's tokenizer and text structure,
# 1 layer of width 32, 64-d output), so every code path of lcmsm_daformer_sepaspp_mitb5.py runs
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
            model_name='ViT-H-14',  # tokenizer and text-tower structure
            pretrained=None,  # random weights, drawn with a fixed seed
            text_cfg=dict(width=32, heads=2, layers=1),
            embed_dim=64,
            seed=0),
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=False)))
