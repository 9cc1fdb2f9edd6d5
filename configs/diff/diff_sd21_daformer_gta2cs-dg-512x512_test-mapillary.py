# Test a GTA5-trained DIFF (diff_sd21_daformer_gta2cs-dg-512x512.py) on the unseen Mapillary
# Vistas v1.2 validation set, 66 classes read as the 19 Cityscapes classes (MapillaryDataset).
#   python tools/test.py configs/diff/diff_sd21_daformer_gta2cs-dg-512x512_test-mapillary.py CKPT
_base_ = ['./diff_sd21_daformer_gta2cs-dg-512x512.py']
test_dataloader = dict(dataset=dict(_delete_=True, **_base_.mapillary_val))
# mmseg's inference_model reads the top-level test_pipeline: the test set's own one.
test_pipeline = _base_.mapillary_test_pipeline
