"""Stop a run before its first iteration when the model's and the data's classes disagree."""
from typing import Iterator, List, Sequence, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import HOOKS
from torch import nn

#: Module-name prefixes of copies of the student (their heads repeat the student's).
_COPIES = ('teacher.', 'imnet_encoder.')


def _datasets(dataset) -> Iterator[Tuple[str, object]]:
    """Yield ``(name, dataset)`` for a dataset and the datasets it wraps (sampling, UDA pairs)."""
    inner = getattr(dataset, 'dataset', None)
    if inner is not None and not isinstance(inner, (list, tuple)):  # SeededSampleDataset
        yield from _datasets(inner)
        return
    parts = [(role, getattr(dataset, role)) for role in ('source', 'target')
             if getattr(dataset, role, None) is not None]
    if parts:  # UDADataset / TargetOnlyDataset
        for role, part in parts:
            yield from ((f'{role} {name}', ds) for name, ds in _datasets(part))
        return
    yield type(dataset).__name__, dataset


def _config_key(module_name: str, root: nn.Module) -> str:
    """Config key of a submodule: ``student.decode_head`` -> ``model.segmentor.decode_head``."""
    if module_name.startswith('student.') and hasattr(root, 'student'):
        module_name = 'segmentor.' + module_name[len('student.'):]
    return f'model.{module_name}'.replace('.module.', '.')


class ClassMismatchError(ValueError):
    """The model, the dataset metainfo, the palette, the prompts or the labels disagree."""


@HOOKS.register_module()
class ClassCheckHook(Hook):
    """Check before training/validation/testing that every class count agrees.

    A wrong ``num_classes`` otherwise ends deep in the loss with ``IndexError: Target 12 is
    out of bounds`` (too few classes) or trains silently with unused outputs (too many). Before
    the first iteration (``before_train``) and before evaluation (``before_val``,
    ``before_test``) this hook compares, for the dataset of the loop (each part of a
    ``UDADataset``/``TargetOnlyDataset``):

    - ``len(metainfo['classes'])`` with ``num_classes`` of every decode and auxiliary head of
      the evaluated network (student; the EMA teacher and frozen copies repeat it);
    - the length of ``metainfo['palette']`` with the class count;
    - the class names of text prompts (LC-MSM's ``text_encoder.class_names``, in label order)
      with the dataset's classes, and the class ids of class prompts (DIFF's
      ``class_prompts``) with the class count;
    - ``num_classes`` of ``LoadSegLabel`` in the dataset's pipeline with the class count;
    - the label ids present in the rare class sampling statistics
      (``sample_class_stats.json``) with the class count.

    Each mismatch raises :class:`ClassMismatchError` naming both values and the config keys to
    set.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner: Runner) -> None:
        """Check the training dataset against the model."""
        self.check(runner.model, runner.train_dataloader.dataset, 'train_dataloader')

    def before_val(self, runner: Runner) -> None:
        """Check the validation dataset against the model."""
        self.check(runner.model, runner.val_dataloader.dataset, 'val_dataloader')

    def before_test(self, runner: Runner) -> None:
        """Check the test dataset against the model."""
        self.check(runner.model, runner.test_dataloader.dataset, 'test_dataloader')

    def check(self, model: nn.Module, dataset, loader_key: str) -> None:
        """Raise :class:`ClassMismatchError` on the first disagreement.

        Args:
            model (nn.Module): The (possibly wrapped) model.
            dataset: The loop's dataset.
            loader_key (str): ``train_dataloader``, ``val_dataloader`` or ``test_dataloader``
                (named in the messages).
        """
        model = model.module if is_model_wrapper(model) else model
        for name, part in _datasets(dataset):
            classes = tuple(getattr(part, 'metainfo', {}).get('classes') or ())
            if not classes:
                continue
            where = f'{loader_key} {name}'
            self._check_metainfo(part.metainfo, classes, where)
            self._check_pipeline(part, classes, where)
            self._check_model(model, classes, where)
            self._check_rcs(dataset, classes, loader_key)

    @staticmethod
    def _check_metainfo(metainfo: dict, classes: Sequence[str], where: str) -> None:
        palette = metainfo.get('palette')
        if palette is not None and len(palette) != len(classes):
            raise ClassMismatchError(
                f'{where}: metainfo has {len(classes)} classes but {len(palette)} palette '
                'colours; give one colour per class: set the dataset\'s '
                '`metainfo=dict(classes=..., palette=...)` with equal lengths.')

    @staticmethod
    def _check_pipeline(dataset, classes: Sequence[str], where: str) -> None:
        pipeline = getattr(dataset, 'pipeline', None)
        for transform in getattr(pipeline, 'transforms', []) or []:
            num = getattr(transform, 'num_classes', None)
            if type(transform).__name__ == 'LoadSegLabel' and num != len(classes):
                raise ClassMismatchError(
                    f'{where}: LoadSegLabel has num_classes={num} but the dataset has '
                    f'{len(classes)} classes {tuple(classes)}; set `num_classes` of '
                    'LoadSegLabel in the dataset pipeline (the `num_classes` variable of the '
                    'dataset base config) to the dataset\'s class count.')

    def _check_model(self, model: nn.Module, classes: Sequence[str], where: str) -> None:
        for module_name, module in self._own_modules(model):
            key = _config_key(module_name, model)
            if isinstance(module, BaseDecodeHead) and module.num_classes != len(classes):
                raise ClassMismatchError(
                    f'{key}.num_classes={module.num_classes} but the {where} dataset has '
                    f'{len(classes)} classes {tuple(classes)}. Set {key}.num_classes='
                    f'{len(classes)} (with --cfg-options {key}.num_classes={len(classes)}), '
                    'or select the classes of the model through the dataset\'s '
                    '`metainfo=dict(classes=...)`.')
            names = getattr(module, 'class_names', None)
            if names is not None and tuple(names) != tuple(classes):
                raise ClassMismatchError(
                    f'{key}.class_names has {len(names)} names {tuple(names)} but the {where} '
                    f'dataset has {len(classes)} classes {tuple(classes)}; the prompts must '
                    f'name the dataset\'s classes in label order: set {key}.class_names to the '
                    'dataset\'s classes (None means the 19 Cityscapes classes).')
            ids = getattr(module, 'class_ids', None)
            if isinstance(ids, list) and ids and max(ids) >= len(classes):
                raise ClassMismatchError(
                    f'{key}.class_prompts name class ids {sorted(ids)} but the {where} dataset '
                    f'has {len(classes)} classes (ids 0..{len(classes) - 1}); set '
                    f'{key}.class_prompts to ids of the dataset\'s classes.')

    @staticmethod
    def _own_modules(model: nn.Module) -> List[Tuple[str, nn.Module]]:
        """The named modules of the model without the teacher's and frozen copies."""
        return [(name, module) for name, module in model.named_modules()
                if name and not name.startswith(_COPIES)]

    @staticmethod
    def _check_rcs(dataset, classes: Sequence[str], loader_key: str) -> None:
        uda = getattr(dataset, 'dataset', dataset)
        rcs = getattr(uda, 'rcs', None)
        if rcs is None or not classes:
            return
        present = sorted({rcs.crop_class_map.get(c, c) for c in rcs.files_with_class} - {255})
        too_large = [c for c in present if c >= len(classes)]
        if too_large:
            raise ClassMismatchError(
                f'{loader_key}: the rare class sampling statistics (sample_class_stats.json of '
                f'the source data_root) hold label ids {too_large} but the dataset has '
                f'{len(classes)} classes (ids 0..{len(classes) - 1}); '
                're-run the dataset converter for this dataset, or set the source\'s '
                '`metainfo=dict(classes=...)` to the classes of its labels.')

