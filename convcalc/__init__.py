"""convcalc: exact and symbolic costs of convolutional networks written as YAML layer graphs.

Import :mod:`convcalc.api` for the library surface; this package module stays light so that
``convcalc --help`` starts fast.
"""

__version__ = "0.1.0"
