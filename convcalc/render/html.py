"""The design-review page: one self-contained HTML file with the tables and the charts.

The page is an output of its own, not one of the :data:`convcalc.render.FORMATS`: a format
renders every kind of result (a profile list, layer kinds, diagnostics...) as text for
stdout, while the page is one document written to a file that combines several results (the
reports, their comparison, device estimates, sweeps) and needs the ``convcalc[report]``
extra for its pictures. So ``convcalc report -o FILE`` writes :func:`page` of a
:class:`~convcalc.review.Review`, and ``--format`` is not offered for it. The tables use the
cells every format shares (:mod:`convcalc.render.rows`); the pictures are
:mod:`convcalc.render.charts`, inline SVG.

Self-contained means no request of any kind when the page is opened: no link, script, font
or image from elsewhere (a Content-Security-Policy of ``default-src 'none'`` makes the
browser refuse any that slipped in). Every text that comes from an architecture or a
profile file is escaped (:func:`html.escape`); matplotlib escapes the text in the SVG.

A network of more than :data:`MAX_TABLE_ROWS` layers lists only that many in its
per-layer table, the ones with the most MACs (in file order), and says so; the stage table
above it holds every layer.
"""

from __future__ import annotations

import heapq
import html
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from convcalc import num
from convcalc.errors import UsageError
from convcalc.render import charts
from convcalc.render import rows as cells
from convcalc.render.text import exact, human, human_bytes, rf_text, seconds, shape
from convcalc.units import plain

if TYPE_CHECKING:
    from convcalc.compare import Comparison
    from convcalc.review import Network, Review

MAX_TABLE_ROWS = 5000

#: The sections of the page, in order: (id, title).
SECTIONS = (
    ("summary", "Summary"),
    ("comparison", "Comparison"),
    ("stages", "Per stage"),
    ("memory", "Memory timeline"),
    ("roofline", "Roofline"),
    ("receptive-field", "Receptive field"),
    ("sweep", "Sweep"),
    ("layers", "Per layer"),
)

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px;color:#222}
h1{font-size:22px}h2{border-bottom:2px solid #ddd;padding-top:8px}h3{font-size:15px}
nav a{margin-right:12px}table{border-collapse:collapse;margin:6px 0 14px}
td,th{border:1px solid #ddd;padding:2px 6px;vertical-align:top}th{background:#f4f4f4}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.n small{color:#777;margin-left:6px}.pass{color:#1a7f37}.fail{color:#c62828;font-weight:600}
.note{color:#555;font-style:italic}figure{margin:8px 0 18px}svg.chart{width:100%;height:auto}
figcaption{color:#555;font-size:12px}figure[data-chart=roofline]{max-width:820px}
.wide{overflow-x:auto}.wide td{white-space:nowrap}table.sortable th{cursor:pointer}
table.sortable th:after{content:" \\2195";color:#aaa}details summary{cursor:pointer}
"""

# Sorts a table by the clicked column: numbers by their exact value (data-v), text as text.
SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var up = th.dataset.order !== "up";
      th.dataset.order = up ? "up" : "down";
      rows.sort(function (a, b) {
        var x = a.cells[col], y = b.cells[col];
        var p = x.dataset.v, q = y.dataset.v, d;
        if (p !== undefined && q !== undefined) { d = Number(p) - Number(q); }
        else { d = x.textContent.localeCompare(y.textContent); }
        return up ? d : -d;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(
    header: Sequence[str], rows: Iterable[Sequence[str]], sortable: bool = False, raw: bool = False
) -> str:
    """A table; cells are escaped unless ``raw`` (cells already built as HTML)."""
    cls = ' class="sortable"' if sortable else ""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    head = f"<thead><tr>{head}</tr></thead>" if any(header) else ""
    body = "".join(
        "<tr>" + "".join(c if raw else f"<td>{_e(c)}</td>" for c in row) + "</tr>\n" for row in rows
    )
    return f"<table{cls}>{head}<tbody>\n{body}</tbody></table>\n"


def _num(value: Any, approx: Callable[[Any], str] = human) -> str:
    """A number cell: the exact value, its short form beside it, the value for sorting."""
    if not num.is_concrete(value):
        return f"<td>{_e(exact(value))}</td>"
    text, short = exact(value), approx(value)
    small = "" if short in (text, f"{text} B") else f"<small>{_e(short)}</small>"
    return f'<td class="n" data-v="{_e(plain(value))}">{_e(text)}{small}</td>'


def _text(value: Any) -> str:
    return f"<td>{_e(value)}</td>"


class _Figures:
    """Numbers the charts of one page, so their SVG ids never collide."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, kind: str, network: str, fig: Any, points: int, caption: str) -> str:
        self.count += 1
        body = charts.svg(fig, prefix=f"c{self.count}")
        fig.clear()
        return (
            f'<figure data-chart="{_e(kind)}" data-network="{_e(network)}" '
            f'data-points="{points}">{body}<figcaption>{_e(caption)}</figcaption></figure>\n'
        )


def _section(ident: str, title: str, body: str) -> str:
    return f'<section id="{ident}">\n<h2>{_e(title)}</h2>\n{body}</section>\n'


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>\n'


# --- sections -----------------------------------------------------------------------------


def _summary(net: Network) -> str:
    r = net.report
    out = [f"<h3>{_e(net.label)}</h3>\n"]
    facts = [
        ("architecture", r.architecture),
        ("source", r.source),
        ("input", shape(r.input)),
        ("dtype", r.dtype),
        ("parameters", cells.bindings_text(r) or "-"),
    ]
    if r.description:
        facts.append(("description", r.description))
    if r.citation:
        facts.append(("citation", r.citation))
    out.append(_table(("", ""), facts))
    out.append(_table(("total", "exact", "approximately"), cells.totals_rows(r)))
    for on in net.devices:
        est = on.estimate
        out.append(f"<h3>{_e(net.label)} on {_e(est.device)}</h3>\n")
        out.append(_table(("", ""), cells.summary_rows(est)))
        verdicts = "".join(
            f'<li class="{"pass" if ok else "fail"}">{_e(line)}</li>\n'
            for ok, line in cells.verdict_lines(est)
        )
        out.append(f"<p>{_e(cells.overall_verdict(est))}</p>\n<ul>\n{verdicts}</ul>\n")
        out.extend(_note(w) for w in est.warnings)
    if r.warnings:
        items = "".join(f"<li>{_e(w)}</li>\n" for w in r.warnings)
        summary = f"<summary>{len(r.warnings)} warning(s)</summary>"
        out.append(f"<details>{summary}<ul>\n{items}</ul></details>\n")
    return "".join(out)


def ratio_cell(value: Any) -> str:
    """An exact ratio: the fraction, and its decimal beside it."""
    if value is None:
        return "<td>-</td>"
    if not num.is_concrete(value):
        return _text(exact(value))
    f = Fraction(value)
    text = str(f.numerator) if f.denominator == 1 else f"{f.numerator:,}/{f.denominator:,}"
    return f'<td class="n" data-v="{float(f)!r}">{_e(text)}<small>≈ {float(f):.4g}</small></td>'


def _comparison(result: Comparison | None, review: Review) -> str:
    if result is None:
        return _note("one network: give two or more architectures to compare them")
    labels = [i.label for i in result.items]
    header = ["metric", *labels, *(f"{b} / {labels[0]}" for b in labels[1:])]
    ratios = result.ratios
    body = []
    for title, key, approx in cells.COMPARED:
        row = [_text(title)]
        row += [_num(getattr(r.totals, key), approx) for r in result.reports]
        row += [ratio_cell(x[key]) for x in ratios[1:]]
        body.append(row)
    out = [_note("each ratio is exact (the fraction in lowest terms), its decimal beside it")]
    out.append(_table(header, body, raw=True))
    for k in range(len(review.device_names)):
        items = [(n.report, n.devices[k].estimate) for n in review.networks]
        out.append(f"<h3>{_e(cells.device_comparison_title(items))}</h3>\n")
        out.append(_table(cells.DEVICE_COMPARISON_HEADER, cells.device_comparison_rows(items)))
    return "".join(out)


def _stages(net: Network, figs: _Figures, depth: int | None) -> str:
    s = charts.stages(net.report, depth)
    fig = charts.draw_stages(s, net.label)
    how = (
        f"the first {s.depth} name parts"
        if s.depth
        else "name prefix (the first part, split further where a stage holds most layers)"
    )
    caption = f"{len(s.labels)} bars; layers folded by {how}"
    if s.merged > 1:
        caption += f", {s.merged} neighbouring stages a bar"
    rows = [
        [_text(label), _num(p), _num(m), _num(a, human_bytes)]
        for label, p, m, a in zip(
            s.labels,
            map(int, s.params),
            map(int, s.macs),
            map(int, s.activation_bytes),
            strict=True,
        )
    ]
    table = _table(("stage", "params", "MACs", "activation memory"), rows, sortable=True, raw=True)
    return (
        f"<h3>{_e(net.label)}</h3>\n"
        + figs.add("stages", net.label, fig, len(s.labels), caption)
        + f"<details><summary>stage table</summary>{table}</details>\n"
    )


def _memory(net: Network, figs: _Figures) -> str:
    t = charts.timeline(net.report)
    fig = charts.draw_timeline(t, net.label)
    caption = (
        f"peak {int(t.peak):,} B ({human_bytes(int(t.peak))}) after layer {t.peak_at} "
        f"({t.peak_layer}); {t.layers} layers"
    )
    if t.sampled:
        caption += f", {len(t.index)} points drawn (the largest of each run)"
    return f"<h3>{_e(net.label)}</h3>\n" + figs.add("memory", net.label, fig, len(t.index), caption)


def _roofline(review: Review, figs: _Figures) -> str:
    if not review.device_names:
        return _note("no device given: add --device NAME (`convcalc devices` lists them)")
    out = []
    for net in review.networks:
        for on in net.devices:
            out.append(f"<h3>{_e(net.label)} on {_e(on.estimate.device)}</h3>\n")
            try:
                r = charts.roofline(on.estimate, on.profile)
            except UsageError as e:
                out.append(_note(e.message))
                continue
            fig = charts.draw_roofline(r, net.label)
            spots = sum(len(p) for p in r.points.values())
            caption = (
                f"ridge point {r.ridge:.4g} FLOP/byte (peak {r.peak:.4g} FLOP/s, bandwidth "
                f"{r.bandwidth:.4g} B/s); {r.layers - r.left_out} layers in {spots} points, "
                f"{r.left_out} fused, views or free layers left out"
            )
            out.append(figs.add("roofline", net.label, fig, spots, caption))
    return "".join(out)


def _rf(net: Network, figs: _Figures) -> str:
    s = charts.receptive_fields(net.report)
    head = f"<h3>{_e(net.label)}</h3>\n"
    if not s.index:
        return head + _note("no layer has spatial extent")
    fig = charts.draw_rf(s, net.label)
    total = net.report.totals.receptive_field
    caption = "every layer's field as in the per-layer table"
    if total is not None:
        caption += (
            f"; the network's {plain(total[0])}x{plain(total[1])} is that of its last layer "
            "with spatial extent"
        )
        if s.size[-1] != (total[0], total[1]):
            caption += " (a global pool after it sees its whole input, so its field is wider)"
    if s.input_hw:
        caption += f"; input {s.input_hw[0]:g}x{s.input_hw[1]:g}"
    if s.sampled:
        caption += f"; {len(s.index)} of {s.layers} layers drawn"
    return head + figs.add("rf", net.label, fig, len(s.index), caption)


def _sweep(review: Review, figs: _Figures) -> str:
    if not review.grid:
        return _note("no sweep: give a range such as --alpha 0.25:1:0.25 --rho 0.5,0.75,1")
    out = []
    for net in review.networks:
        out.append(f"<h3>{_e(net.label)}</h3>\n")
        if net.sweep is None:
            out.append(_note(net.note))
            continue
        g = charts.sweep_grid(net.sweep)
        fig = charts.draw_sweep(g, net.label)
        points = len(net.sweep.rows)
        kind = "heat maps" if g.y_name else "curves"
        out.append(figs.add("sweep", net.label, fig, points, f"{kind} over {points} points"))
        header, rows = cells.sweep_table(net.sweep)
        out.append(f"<details><summary>sweep table</summary>{_table(header, rows)}</details>\n")
    return "".join(out)


def _layers(net: Network) -> str:
    r = net.report
    first = net.devices[0].estimate if net.devices else None
    times = {t.name: t for t in first.layers} if first else {}
    indexed = list(enumerate(r.layers))
    note = ""
    if len(indexed) > MAX_TABLE_ROWS:
        costly = heapq.nsmallest(MAX_TABLE_ROWS, indexed, key=lambda x: (-x[1].macs, x[0]))
        indexed = sorted(costly, key=lambda x: x[0])
        note = (
            f"{len(r.layers):,} layers: the {MAX_TABLE_ROWS:,} with the most MACs are listed "
            "(in file order); every layer is in `convcalc analyze ARCH -f csv`"
        )
    header = ["#", "name", "type", "output", "params", "MACs", "FLOPs", "activations", "traffic"]
    header += ["rf size", "rf jump"]
    if first:
        header += [f"time on {first.device}", "bound"]
    body = []
    for i, row in indexed:
        jump = "" if row.rf is None else "x".join(plain(v) for v in row.rf.jump)
        line = [
            f'<td class="n" data-v="{i}">{i}</td>',
            _text(row.name),
            _text(row.type + (f" {row.summary}" if row.summary else "")),
            _text(shape(row.output_shape)),
            _num(row.params),
            _num(row.macs),
            _num(row.flops),
            _num(row.activation_bytes, human_bytes),
            _num(row.traffic_bytes, human_bytes),
            _text(rf_text(row)),
            _text(jump),
        ]
        if first:
            t = times.get(row.name)
            if t is None:
                line.append("<td></td>")
            else:
                line.append(f'<td class="n" data-v="{t.time_s!r}">{_e(seconds(t.time_s))}</td>')
            bound = "" if t is None else f"fused into {t.fused_into}" if t.fused_into else t.bound
            line.append(_text(bound))
        body.append(line)
    summary = note or f"all {len(r.layers):,} layers (click a column to sort)"
    return (
        f"<h3>{_e(net.label)}</h3>\n<details open><summary>{_e(summary)}</summary>\n"
        + '<div class="wide">'
        + _table(header, body, sortable=True, raw=True)
        + "</div></details>\n"
    )


def page(review: Review, depth: int | None = None) -> str:
    """The whole page. ``depth`` folds the stage bars by that many name parts (default:
    :func:`charts.stage_keys`, split where one stage would hold most of the network)."""
    for net in review.networks:
        if not num.is_concrete(net.report.totals.macs):
            raise UsageError("a review page needs concrete numbers; give every parameter a value")
    figs = _Figures()
    nets = review.networks
    bodies = {
        "summary": "".join(_summary(n) for n in nets),
        "comparison": _comparison(review.comparison, review),
        "stages": "".join(_stages(n, figs, depth) for n in nets),
        "memory": "".join(_memory(n, figs) for n in nets),
        "roofline": _roofline(review, figs),
        "receptive-field": "".join(_rf(n, figs) for n in nets),
        "sweep": _sweep(review, figs),
        "layers": "".join(_layers(n) for n in nets),
    }
    title = " vs ".join(n.label for n in nets)
    nav = "".join(f'<a href="#{ident}">{_e(name)}</a>' for ident, name in SECTIONS)
    devices = ", ".join(review.device_names) or "none"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}: design review</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>{_e(title)}: design review</h1>\n"
        f"<p>Made by convcalc report; devices: {_e(devices)}. Counting conventions: "
        "docs/conventions.md.</p>\n"
        f"<nav>{nav}</nav></header>\n"
        + "".join(_section(ident, name, bodies[ident]) for ident, name in SECTIONS)
        + f"<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
