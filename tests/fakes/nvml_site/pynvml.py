"""Stands in for nvidia-ml-py's `pynvml` in a subprocess (a torchrun rank): put this folder first
on PYTHONPATH and name a recorded machine in $ADVISOR_FAKE_NVML. The real module is loaded under
another name for its error classes and structs, exactly as tests/fakes/fake_pynvml.py expects."""

import importlib.machinery
import importlib.util
import os
import sys

import yaml

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.machinery.PathFinder.find_spec(
    "pynvml", [p for p in sys.path if os.path.abspath(p or ".") != _here]
)
_real = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_real)
sys.modules["pynvml"] = _real  # fake_pynvml imports the real one for its classes

from tests.fakes.fake_pynvml import FakeNvml  # noqa: E402

with open(os.environ["ADVISOR_FAKE_NVML"], encoding="utf-8") as _f:
    _machine = yaml.safe_load(_f)
_fake = FakeNvml(_machine.get("nvml", _machine)).module()
sys.modules["pynvml"] = _fake
globals().update(vars(_fake))
