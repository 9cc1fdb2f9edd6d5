# Control run for the alignment evidence of iccld_sd-tiny_toy.py: the discriminator is trained
# exactly as there, but the segmenter gets no adversarial gradient (adversarial_weight=0), so the
# discriminator only probes how separable the unaligned latent features of the three domains are.
# Its accuracy over training is the baseline that the full model's accuracy is compared with
# (benchmarks/iccld_disc_trend.py; docs/benchmarks.md): alignment shows as a lower accuracy,
# closer to chance (1/3), than this probe's at the same iterations.
_base_ = ['./iccld_sd-tiny_toy.py']
model = dict(adversarial_weight=0.0)
