"""ShuffleNet: information must flow between groups. A grouped conv that reads another
grouped conv through channel-local layers only (no channel shuffle, no dense conv) sees, in
each of its output groups, only some of the input groups."""

from __future__ import annotations

from convcalc.report import Report
from convcalc.rules.walk import Found, Walk, concrete

SHUFFLENET = (
    'Zhang et al., "ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile '
    'Devices", CVPR 2018, section 3.1 and Fig. 1; seed notes 004 section 8.3.1'
)
MAX_CHANNELS = 1 << 16  # channel maps larger than this are not traced


def rule(g: Walk, report: Report | None) -> list[Found]:
    found = []
    for layer in g.layers:
        groups = g.grouped(layer)
        if not groups:
            continue
        path = []  # channel-local layers between this conv and the grouped conv it reads
        node = g.source(layer)
        while node is not None and not g.grouped(node):
            if len(node.inputs) != 1 or g.channel_source(node, 0) is None:
                node = None
                break
            path.append(node)
            node = g.source(node)
        if node is None:
            continue
        c_mid, c_before = g.input_shape(layer)[0], g.input_shape(node)[0]
        if not concrete(c_mid, c_before, *node.shape) or c_mid > MAX_CHANNELS:
            continue
        other = g.grouped(node)
        per_group = c_mid // groups
        per_other = node.shape[0] // other
        reach = []
        for group in range(groups):
            seen = set()
            for channel in range(group * per_group, (group + 1) * per_group):
                for step in path:
                    channel = g.channel_source(step, channel)
                seen.add(channel // per_other)
            reach.append(len(seen))
        if min(reach) < other:
            found.append(
                g.diagnostic(
                    layer,
                    "no-cross-group-flow",
                    f"this conv's {groups} groups read the {other} groups of '{node.name}' "
                    "with no channel shuffle or dense conv between: each of its output groups "
                    f"sees {min(reach)} of the {other} input groups, so information does not "
                    "flow between groups",
                    SHUFFLENET,
                    hint="add a channel_shuffle (groups = the first conv's groups) or a dense "
                    "1x1 conv between the grouped convs",
                )
            )
    return found
