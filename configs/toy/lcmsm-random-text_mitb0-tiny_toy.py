# "No language pretraining" ablation (issue: toy foundation models): LC-MSM from the toy MiT, as
# lcmsm_mitb0-tiny_toy.py, with a random text tower of the toy CLIP's text architecture (ViT-H-14's
# text structure and tokenizer at width 32, 2 layers, 64-d output) instead of the toy CLIP, i.e. 19
# arbitrary class embeddings. Only the text tower differs, so the pair measures what the toy
# CLIP's class-name embeddings add (random-init/lcmsm_mitb0-tiny-random-init_toy.py also
# randomises the MiT).
_base_ = ['./lcmsm_mitb0-tiny_toy.py']
model = dict(
    segmentor=dict(
        language_head=dict(
            text_encoder=dict(
                model_name='ViT-H-14',
                pretrained=None,  # random weights, drawn with the fixed seed
                text_cfg=dict(width=32, heads=2, layers=2),
                embed_dim=64))))
