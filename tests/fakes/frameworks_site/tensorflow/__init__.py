"""A fake TensorFlow: importing it is only allowed when a test asks for `check --frameworks`.

Then it behaves like a CUDA TensorFlow that could not load its GPU libraries: it lists no GPU
(TensorFlow logs "Cannot dlopen some GPU libraries ... Skipping registering GPU devices...").
"""

import os
import types

if os.environ.get("ADVISOR_FAKE_TF_IMPORT") != "allow":
    raise RuntimeError("advisor must not import TensorFlow to read its version")

config = types.SimpleNamespace(list_physical_devices=lambda kind=None: [])
