"""Symbolic analysis: free parameters become sympy symbols, every rule then yields formulas.

Imported only when a run leaves a parameter free (``--symbolic``, ``--free``), so concrete
runs never pay for sympy. Symbols are built from validated names only; sympy objects are
created from convcalc's own expression tree, never from text.
"""
