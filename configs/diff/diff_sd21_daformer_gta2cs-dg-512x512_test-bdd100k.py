# Test a GTA5-trained DIFF (diff_sd21_daformer_gta2cs-dg-512x512.py) on the unseen BDD100K
# validation set (1000 images, Cityscapes trainIds).
#   python tools/test.py configs/diff/diff_sd21_daformer_gta2cs-dg-512x512_test-bdd100k.py CKPT
_base_ = ['./diff_sd21_daformer_gta2cs-dg-512x512.py']
test_dataloader = dict(dataset=dict(_delete_=True, **_base_.bdd100k_val))
# mmseg's inference_model reads the top-level test_pipeline: the test set's own one.
test_pipeline = _base_.bdd100k_test_pipeline
