raise RuntimeError("advisor must not import TensorFlow to read its version")
