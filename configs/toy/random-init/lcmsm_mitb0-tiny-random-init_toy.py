# "No pretraining" ablation (issue: toy foundation models): LC-MSM with the tiny MiT from random
# initialisation and a random text tower of the toy CLIP's text architecture (ViT-H-14's text
# structure and tokenizer at width 32, 2 layers, 64-d output), i.e. 19 arbitrary class embeddings:
# lcmsm-random-text_mitb0-tiny_toy.py (random text tower) with the MiT's init_cfg removed too.
_base_ = ['../lcmsm-random-text_mitb0-tiny_toy.py']
model = dict(segmentor=dict(backbone=dict(init_cfg=None)))
