# Ablation of crossmatch_mitb0-tiny_toy.py without depth: the auxiliary network is a second RGB
# stream of the same architecture (RGBDAuxiliaryNetwork with depth_encoder=None); everything else,
# including the data, is unchanged, so the difference measures what depth adds.
_base_ = ['./crossmatch_mitb0-tiny_toy.py']
model = dict(auxiliary=dict(depth_encoder=None))
