# The two commands of the README:
#   make demo   install (first run: see docs/getting_started.md), make the toy data, train and
#               evaluate the toy job on CPU, print the target mIoU
#   make test   install and run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
TOY ?= data/toy
export VENV

.PHONY: install toy-data demo test test-fast clean-toy

install:
	EXTRAS="tests optional" bash scripts/install.sh

$(TOY)/.converted: tools/make_toy_data.py tools/dataset_converters/gta5.py tools/dataset_converters/cityscapes.py tools/dataset_converters/deliver.py
	$(PY) tools/make_toy_data.py --out $(TOY) --overwrite
	$(PY) tools/dataset_converters/gta5.py $(TOY)/gta
	$(PY) tools/dataset_converters/cityscapes.py $(TOY)/cityscapes
	$(PY) tools/dataset_converters/deliver.py $(TOY)/deliver
	touch $@

toy-data: install $(TOY)/.converted

demo: install toy-data
	bash scripts/demo.sh

test: install
	$(PY) -m pytest tests

test-fast: install
	$(PY) -m pytest tests -m "not slow"

clean-toy:
	rm -rf $(TOY)
