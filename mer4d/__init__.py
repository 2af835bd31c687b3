"""mer4d: micro-expression recognition over 2D video, depth and 4D meshes, tracked in MLflow.

Importing the package is cheap on purpose: no torch, no mlflow, no renderer. Heavy modules are
imported by the subpackages that need them.
"""

__version__ = "0.1.0"
