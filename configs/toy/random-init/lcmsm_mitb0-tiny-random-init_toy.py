# "No pretraining" ablation (issue: toy foundation models): LC-MSM with the tiny MiT from random
# initialisation and a random text tower of the toy CLIP's text architecture (ViT-H-14's text
# structure and tokenizer at width 32, 2 layers, 64-d output), i.e. 19 arbitrary class embeddings.
_base_ = ['../lcmsm_mitb0-tiny_toy.py']
model = dict(
    segmentor=dict(
        backbone=dict(init_cfg=None),
        language_head=dict(
            text_encoder=dict(
                model_name='ViT-H-14',
                pretrained=None,  # random weights, drawn with the fixed seed
                text_cfg=dict(width=32, heads=2, layers=2),
                embed_dim=64))))
