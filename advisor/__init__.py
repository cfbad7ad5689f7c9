"""advisor: a GPU hardware advisor and compatibility checker for deep learning."""

__version__ = "0.1.0"
