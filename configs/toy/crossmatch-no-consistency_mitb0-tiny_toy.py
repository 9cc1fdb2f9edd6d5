# Ablation of crossmatch_mitb0-tiny_toy.py without the cross-modal consistency loss: both streams
# still learn the agreement-filtered pseudo-labels, but nothing pulls their predictions together.
_base_ = ['./crossmatch_mitb0-tiny_toy.py']
model = dict(consistency_weight=0.0)
