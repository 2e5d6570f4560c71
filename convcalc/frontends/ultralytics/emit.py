"""The one way the Ultralytics rules add layers: named, located and checked.

Every module rule (:mod:`.convs`, :mod:`.blocks`, :mod:`.attention`, :mod:`.heads`) builds
its layers through an :class:`Emitter`, which binds a kind's arguments, asks
:class:`~convcalc.graph.GraphBuilder` for the shape and appends the layer with the row's
line, so a shape error names the file, the line of the YAML row and the layer (named
``model.<row>.<submodule>...`` after the PyTorch module that holds it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import convcalc.layers  # noqa: F401  (fills the registry)
from convcalc.errors import ConvcalcError, SpecError
from convcalc.graph import GraphBuilder, Layer
from convcalc.layers.base import LayerKind, Shape
from convcalc.layers.conv import Conv as ConvKind
from convcalc.layers.norm import BatchNorm
from convcalc.layers.registry import REGISTRY


def kind(cls: type[LayerKind]) -> LayerKind:
    """The registered kind of a kind class (the instance every analysis asks)."""
    return REGISTRY[cls.op]


def activation_kind(text: str) -> LayerKind | None:
    """The kind of a PyTorch activation written ``nn.SiLU()`` (the YAML's ``activation``
    key, or a module default): its class name lowered is a convcalc op or alias; None for
    one convcalc has no kind for, or for ``nn.Identity()``."""
    name = text.strip()
    if name.startswith("torch."):
        name = name[len("torch.") :]
    if not (name.startswith("nn.") and name.endswith("()")):
        return None
    return REGISTRY.get(name[3:-2].lower())


#: Ultralytics' default activation (``Conv.default_act``).
DEFAULT_ACT = "nn.SiLU()"


@dataclass
class Emitter:
    """Adds layers to one graph on behalf of the row being read."""

    builder: GraphBuilder
    file: str
    act: LayerKind
    line: int | None = None
    row: int = 0
    module: str = ""
    facts: dict[str, Any] = field(default_factory=dict)  # nc, reg_max, end2end, legacy ...

    def error(self, message: str, hint: str | None = None) -> SpecError:
        """A SpecError at the current row."""
        return SpecError(
            f"row {self.row} ({self.module}): {message}", file=self.file, line=self.line, hint=hint
        )

    def shape(self, name: str) -> Shape:
        return self.builder.graph.shapes[name]

    def channels(self, name: str) -> Any:
        return self.shape(name)[0]

    def add(self, name: str, kind: LayerKind, raw: Mapping[str, Any], inputs: Sequence[str]) -> str:
        """Bind ``raw`` for ``kind``, check it against ``inputs`` and append the layer."""
        inputs = tuple(inputs)
        try:
            self.builder.check_room()
            args = kind.bind(raw, {})
            shape = self.builder.shape_of(kind, args, inputs)
        except ConvcalcError as e:
            if not e.message.startswith("row "):
                e.message = f"row {self.row} ({self.module}): {e.message}"
            raise e.locate(file=self.file, line=self.line, layer=name) from None
        self.builder.append(Layer(name, kind, args, inputs, shape, self.line, 1, self.file))
        return name

    def conv(
        self,
        name: str,
        x: str,
        c2: int,
        k: Any = 1,
        s: int = 1,
        p: Any = None,
        g: int = 1,
        d: int = 1,
        act: bool | LayerKind | None = True,
    ) -> str:
        """Ultralytics' ``Conv``: a bias-free convolution, batch norm and the activation
        (``act`` True: the model's default; a kind: that one; False: none), padded
        'same' when ``p`` is None (``autopad``: k // 2 of the dilated kernel)."""
        ks = tuple(k) if isinstance(k, list | tuple) else (k, k)
        if p is None:
            p = tuple((d * (v - 1) + 1) // 2 for v in ks)
        out = self.add(
            f"{name}.conv",
            kind(ConvKind),
            {
                "out": c2,
                "k": list(ks),
                "stride": s,
                "padding": list(p) if isinstance(p, tuple | list) else p,
                "dilation": d,
                "groups": g,
                "bias": False,
            },
            (x,),
        )
        out = self.add(f"{name}.bn", kind(BatchNorm), {}, (out,))
        chosen = self.act if act is True else act if isinstance(act, LayerKind) else None
        if chosen is not None:
            out = self.add(f"{name}.act", chosen, {}, (out,))
        return out
