# LC-MSM's network (Kim et al., Pattern Recognition 2024; official
# configs/_base_/models/lc_msm{,_sepaspp}.py, mmseg/models/segmentors/tigda_encoder_decoder.py):
# the DAFormer network (MiT-B5, ImageNet init; see daformer_sepaspp_mitb5.py for the weights)
# with both heads at 512 channels, plus the language-conditioned head on ViT-H-14 text
# embeddings of the 19 Cityscapes class names. Predictions use the main head only.
_base_ = ['./daformer_sepaspp_mitb5.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='LanguageConditionedEncoderDecoder',
    # LC-MSM's main DAFormer head is 512 channels wide (official lc_msm.py); DAFormer's is 256.
    decode_head=dict(channels=512, embed_dims=512),
    language_head=dict(
        type='LanguageConditionedHead',
        in_channels=[64, 128, 320, 512],  # MiT-B5 stages
        in_index=[0, 1, 2, 3],
        channels=512,  # the text projection maps the 1024-d ViT-H-14 embeddings to 512
        embed_dims=512,
        fusion_cfg=dict(type='ASPPFusion', dilations=(1, 6, 12, 18), sep=True, pool=False),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        tau=0.07,  # similarity scale 1 / 0.07, a constant
        block_depth=2,  # the shared bottleneck block applied twice (official arch_option=1)
        text_encoder=dict(
            type='OpenCLIPClassEmbeddings',
            class_names=None,  # the 19 Cityscapes classes; prompts 'a photo of a {name}.'
            model_name='ViT-H-14',
            # An OpenCLIP tag (from the Hugging Face cache, else downloaded) or a local file,
            # e.g. open_clip_pytorch_model.bin of
            # huggingface.co/laion/CLIP-ViT-H-14-laion2B-s32B-b79K
            pretrained='laion2b_s32b_b79k'),
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=False)),
    # 512x512 windows with stride 256 over the 1024x512 test images (3 windows).
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(256, 256)))
