"""Every kind of name an untrusted file or option may give, and the one pattern each obeys.

Names reach the expression evaluator, sympy symbols, file lookups and output, so each kind
is checked against its own pattern, defined once here.
"""

from __future__ import annotations

import re

#: A name in an expression: a param, var, block argument or table column (also a sympy
#: symbol name, so nothing but letters, digits and '_').
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

#: A layer, block or use name (and a ``--set`` name): an identifier that may also hold '-';
#: '.' is reserved for the nesting of expanded names.
LAYER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")

#: A bundled architecture: path parts under the architectures folder, no '..' allowed by
#: the caller, no leading '/'.
BUNDLED_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*\Z")

#: A device profile name (also its file name without ``.yaml``).
DEVICE_NAME = re.compile(r"[a-z0-9][a-z0-9_.\-]*\Z")
