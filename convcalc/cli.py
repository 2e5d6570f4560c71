"""The command line: parse options, call :mod:`convcalc.api`, render. Nothing else.

Heavy modules (the engine, rich, sympy) are imported inside the commands, so ``--help``
stays fast. Every :class:`ConvcalcError` becomes one message on stderr and its exit code;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from enum import Enum
from types import ModuleType
from typing import Annotated, Any, NoReturn

import typer

from convcalc import __version__
from convcalc.errors import ConvcalcError, ExitCode
from convcalc.render import FORMATS, renderer

CONVENTIONS = """\
Counting conventions: params are learnable weights, biases and batch-norm scale/shift
(running statistics are buffers). MACs are multiply-accumulates of conv, linear and matmul
layers (the papers' mult-adds). FLOPs are 2 x MACs plus the documented element-wise cost of
every other layer. Memory is bytes at --dtype; peak activation memory is the largest sum of
tensors alive at once in file order. Receptive fields follow Araujo et al. (Distill 2019).
See docs/conventions.md."""

app = typer.Typer(
    help="Exact shapes, parameters, multiply-adds, memory and receptive fields of CNNs "
    "written as YAML layer graphs.\n\n" + CONVENTIONS,
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion (docs/cli.md)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


# The output formats are the renderers' map; every command takes each of them.
Format = Enum("Format", [(name, name) for name in FORMATS], type=str)
TABLE = Format("table")


class DType(str, Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"
    int8 = "int8"


# A process whose reader went away ends as if killed by SIGPIPE, quietly, like Unix tools.
BROKEN_PIPE = 128 + 13


def _fail(err: ConvcalcError) -> NoReturn:
    from convcalc.render.sanitize import error_text

    sys.stderr.write(f"error: {error_text(err.where(), err.message, err.hint)}\n")
    raise typer.Exit(int(err.code))


def _pipe_closed() -> NoReturn:
    """stdout's reader is gone (``convcalc ... | head``): drop what is left unwritten and
    end without a message."""
    import os

    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(BROKEN_PIPE)


def _guard(debug: bool, fn: Callable[[], Any]) -> Any:
    """Run a command body, turning errors into messages and exit codes."""
    try:
        return fn()
    except ConvcalcError as err:
        if debug:
            raise
        _fail(err)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except (typer.Exit, typer.Abort):
        raise
    except BrokenPipeError:
        _pipe_closed()
    except Exception as err:  # a bug: say so plainly
        if debug:
            raise
        from convcalc.render.sanitize import visible

        sys.stderr.write(
            f"internal error: {type(err).__name__}: {visible(err)}\n"
            "  this is a bug in convcalc; run again with --debug for the traceback\n"
        )
        raise typer.Exit(int(ExitCode.INTERNAL)) from None


def _version(value: bool) -> None:
    if value:
        try:
            sys.stdout.write(f"convcalc {__version__}\n")
        except BrokenPipeError:  # runs inside click, which would end with exit 1
            _pipe_closed()
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Root options."""


def _bundled_names(incomplete: str) -> list[str]:
    """Shell completion of an architecture: the bundled names that start as typed (files
    are the shell's own completion)."""
    from convcalc.schema.loader import bundled_names

    return [n for n in bundled_names() if n.startswith(incomplete)]


Arch = Annotated[
    str,
    typer.Argument(
        help="A YAML file, or a bundled name (`convcalc list`).", autocompletion=_bundled_names
    ),
]
Alpha = Annotated[str | None, typer.Option("--alpha", help="Width multiplier (sets param alpha).")]
Rho = Annotated[str | None, typer.Option("--rho", help="Resolution multiplier (sets param rho).")]
Sets = Annotated[
    list[str] | None,
    typer.Option("--set", help="Set a parameter: name=value (repeatable)."),
]
Input = Annotated[str | None, typer.Option("--input", help="Override the input shape, CxHxW.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]
Convention = Annotated[
    str,
    typer.Option(
        "--convention",
        help="How FLOPs are counted: convcalc, or ultralytics (the GFLOPs Ultralytics prints; "
        "docs/import.md).",
    ),
]
Symbolic = Annotated[
    bool,
    typer.Option("--symbolic", help="Leave every param without a value free (formulas)."),
]
Free = Annotated[
    str | None,
    typer.Option("--free", help="Comma-separated params to leave free despite defaults."),
]
NoRound = Annotated[
    bool,
    typer.Option("--no-round", help="Drop rounding (make_divisible, floor): papers' formulas."),
]
DTypeOpt = Annotated[DType, typer.Option("--dtype", help="Bytes per value.")]
DeviceDType = Annotated[
    DType | None,
    typer.Option("--dtype", help="Bytes per value (default fp32, or the device's dtype)."),
]
Device = Annotated[
    str | None, typer.Option("--device", help="Estimate on a device profile (`convcalc devices`).")
]
DeviceFile = Annotated[
    str | None, typer.Option("--device-file", help="A device profile YAML of your own.")
]
FailOver = Annotated[
    bool,
    typer.Option("--fail-over-budget", help="Exit with code 3 when a device budget fails."),
]
Output = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
BatchOpt = Annotated[
    int | None,
    typer.Option(
        "--batch",
        min=1,
        max=1 << 20,
        help="Samples per run: every count but params scales with it (default 1, or the "
        "device's batch for its estimate).",
    ),
]
Train = Annotated[
    bool,
    typer.Option("--train", help="Add one training step: its memory and FLOPs (docs/training.md)."),
]
Optimizer = Annotated[
    str,
    typer.Option("--optimizer", help="With --train: sgd, momentum, adam or adamw."),
]
Precision = Annotated[
    str,
    typer.Option("--precision", help="With --train: fp32, amp-fp16 or amp-bf16."),
]
Checkpoint = Annotated[
    int | None,
    typer.Option(
        "--checkpoint",
        min=1,
        max=64,
        help="With --train: checkpoint each block of layers sharing their first N name "
        "parts (they run forward again in backward; --depth N shows the blocks).",
    ),
]
MaxBatch = Annotated[
    bool,
    typer.Option(
        "--max-batch", help="The largest batch that fits the device's (or --budget's) memory."
    ),
]
Budgets = Annotated[
    list[str] | None,
    typer.Option(
        "--budget",
        help="A limit to check: memory=16GiB, latency=10ms, params=5M, macs=300M, "
        "throughput=100/s (repeatable; with or without --device).",
    ),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "--no-warnings", "--quiet", "-q", help="Leave the analysis and design warnings out."
    ),
]
Full = Annotated[
    bool,
    typer.Option("--full", help="Every layer in the table, however long (no default fold)."),
]
Tree = Annotated[
    bool,
    typer.Option("--tree", help="Layers nested under their blocks, with block subtotals."),
]


def _free(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def _params(alpha: str | None, rho: str | None, sets: list[str] | None) -> dict[str, str]:
    from convcalc.api import parse_assignment

    params: dict[str, str] = {}
    for item in sets or []:
        name, value = parse_assignment(item)
        params[name] = value
    if alpha is not None:
        params["alpha"] = alpha
    if rho is not None:
        params["rho"] = rho
    return params


def _renderer(fmt: Any) -> ModuleType:
    """The module of :mod:`convcalc.render` for the chosen ``--format``."""
    return renderer(fmt.value)


@app.command()
def analyze(
    arch: Arch,
    alpha: Alpha = None,
    rho: Rho = None,
    sets: Sets = None,
    input: Input = None,
    dtype: DeviceDType = None,
    fmt: Output = TABLE,
    depth: Annotated[
        int | None,
        typer.Option("--depth", min=1, help="Fold layers into rows by the first N name parts."),
    ] = None,
    full: Full = False,
    tree: Tree = False,
    no_warnings: Quiet = False,
    symbolic: Symbolic = False,
    free: Free = None,
    no_round: NoRound = False,
    device: Device = None,
    device_file: DeviceFile = None,
    fail_over_budget: FailOver = False,
    batch: BatchOpt = None,
    train: Train = False,
    optimizer: Optimizer = "adam",
    precision: Precision = "fp32",
    checkpoint: Checkpoint = None,
    max_batch: MaxBatch = False,
    budget: Budgets = None,
    convention: Convention = "convcalc",
    debug: Debug = False,
) -> None:
    """Per-layer shapes, params, MACs, FLOPs, memory and receptive fields, with totals.

    The table folds a network of more than 40 layers to at most 40 rows (--full, --depth)."""

    def body() -> None:
        from convcalc import api

        shape, size = api.parse_input(input, batch)
        given = batch is not None or size != 1  # a batch on the command line wins
        budgets = [api.parse_budget(b) for b in budget or []]
        report = api.analyze(
            arch,
            _params(alpha, rho, sets),
            shape,
            dtype.value if dtype else "fp32",
            free=_free(free),
            symbolic=symbolic,
            smooth=no_round,
            batch=size,
            train=train,
            optimizer=optimizer,
            precision=precision,
            checkpoint=checkpoint,
        )
        report = api.convention(report, convention)
        est = None
        if device or device_file or budgets or max_batch:
            est = api.estimate(
                report,
                device,
                device_file,
                dtype.value if dtype else None,
                size if given else None,
                budgets=budgets,
                max_batch=max_batch,
            )
        out = _renderer(fmt)
        if no_warnings:
            report.warnings.clear()
            report.diagnostics.clear()
        sys.stdout.write(out.report(report, 0 if full else depth, est, tree=tree))
        sys.stderr.write(out.report_stderr(report, est))
        sys.stderr.write(api.convention_note(report, convention))
        if est is not None and fail_over_budget and not est.passed:
            raise typer.Exit(int(ExitCode.OVER_BUDGET))

    _guard(debug, body)


@app.command("list")
def list_(fmt: Output = TABLE, debug: Debug = False) -> None:
    """Bundled architectures and blocks, with their sources."""

    def body() -> None:
        from convcalc import api

        sys.stdout.write(_renderer(fmt).architectures(api.list_architectures()))

    _guard(debug, body)


@app.command()
def layers(
    op: Annotated[str | None, typer.Argument(help="Show one op's arguments.")] = None,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="Output format (markdown: docs/layers.md).")
    ] = TABLE,
    debug: Debug = False,
) -> None:
    """Layer kinds (YAML `op` names) and their arguments."""

    def body() -> None:
        from convcalc.errors import UsageError
        from convcalc.layers import REGISTRY, ordered

        if op and op not in REGISTRY:
            raise UsageError(f"unknown op {op!r}; `convcalc layers` lists them")
        kinds = [REGISTRY[op]] if op else ordered()
        sys.stdout.write(_renderer(fmt).kinds(kinds))

    _guard(debug, body)


@app.command()
def compare(
    archs: Annotated[
        list[str],
        typer.Argument(help="Two or more architectures; per-item params as name:k=v,k=v."),
    ],
    alpha: Alpha = None,
    rho: Rho = None,
    sets: Sets = None,
    input: Input = None,
    dtype: DeviceDType = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Also break totals down by 'type' or 'stage'.")
    ] = None,
    fmt: Output = TABLE,
    no_warnings: Quiet = False,
    symbolic: Symbolic = False,
    free: Free = None,
    no_round: NoRound = False,
    device: Device = None,
    device_file: DeviceFile = None,
    fail_over_budget: FailOver = False,
    batch: BatchOpt = None,
    budget: Budgets = None,
    debug: Debug = False,
) -> None:
    """Totals side by side, with ratios against the first architecture."""

    def body() -> None:
        from convcalc import api
        from convcalc.errors import UsageError

        if by not in (None, "type", "stage"):
            raise UsageError("--by takes 'type' or 'stage'")
        shape, size = api.parse_input(input, batch)
        given = batch is not None or size != 1
        budgets = [api.parse_budget(b) for b in budget or []]
        result = api.compare(
            archs,
            _params(alpha, rho, sets),
            shape,
            dtype.value if dtype else "fp32",
            free=_free(free),
            symbolic=symbolic,
            smooth=no_round,
            batch=size,
        )
        if no_warnings:
            for r in result.reports:
                r.warnings.clear()
                r.diagnostics.clear()
        estimates = []
        if device or device_file or budgets:
            estimates = [
                api.estimate(
                    r,
                    device,
                    device_file,
                    dtype.value if dtype else None,
                    size if given else None,
                    budgets=budgets,
                )
                for r in result.reports
            ]
        sys.stdout.write(_renderer(fmt).comparison(result, by, estimates))
        if fail_over_budget and not all(e.passed for e in estimates):
            raise typer.Exit(int(ExitCode.OVER_BUDGET))

    _guard(debug, body)


@app.command()
def validate(
    arch: Arch,
    alpha: Alpha = None,
    rho: Rho = None,
    sets: Sets = None,
    input: Input = None,
    dtype: DTypeOpt = DType.fp32,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="Output format (table: one diagnostic a line).")
    ] = TABLE,
    no_warnings: Annotated[
        bool, typer.Option("--no-warnings", help="Check errors only, skip the design rules.")
    ] = False,
    debug: Debug = False,
) -> None:
    """Check a file without printing an analysis: errors, then design warnings (for CI)."""

    def body() -> None:
        from convcalc import api
        from convcalc.diagnostics import exit_code

        shape = api.parse_shape(input) if input else None
        diagnostics = api.validate(
            arch, _params(alpha, rho, sets), shape, dtype.value, warnings=not no_warnings
        )
        sys.stdout.write(_renderer(fmt).diagnostics(diagnostics, arch))
        code = exit_code(diagnostics)
        if code:
            raise typer.Exit(code)

    _guard(debug, body)


@app.command()
def devices(fmt: Output = TABLE, debug: Debug = False) -> None:
    """Device profiles: class, peak compute, bandwidth, memory, budgets and sources."""

    def body() -> None:
        from convcalc.devices import list_profiles

        sys.stdout.write(_renderer(fmt).devices(list_profiles()))

    _guard(debug, body)


@app.command()
def sweep(
    arch: Arch,
    alpha: Annotated[
        str | None, typer.Option("--alpha", help="Values of alpha: 0.25,0.5 or 0.25:1:0.25.")
    ] = None,
    rho: Annotated[
        str | None, typer.Option("--rho", help="Values of rho: 1,0.857 or start:stop:step.")
    ] = None,
    vary: Annotated[
        list[str] | None,
        typer.Option("--vary", help="Any param: name=values (repeatable)."),
    ] = None,
    sets: Sets = None,
    dtype: DTypeOpt = DType.fp32,
    fmt: Output = TABLE,
    device: Device = None,
    device_file: DeviceFile = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", "-j", min=1, max=1024, help="Processes for a grid that changes the graph."
        ),
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler", help="Run it on a Dask cluster: tcp://host:8786 (convcalc[dask])."
        ),
    ] = None,
    batch: BatchOpt = None,
    input: Input = None,
    debug: Debug = False,
) -> None:
    """Params, MACs, FLOPs and peak memory over a grid of parameter values."""

    def body() -> None:
        from convcalc import api
        from convcalc.render.progress import progress
        from convcalc.render.sanitize import visible

        grid: dict[str, list[Any]] = {}
        if alpha:
            grid["alpha"] = api.parse_values(alpha)
        if rho:
            grid["rho"] = api.parse_values(rho)
        for item in vary or []:
            name, values = api.parse_assignment(item)
            grid[name] = api.parse_values(values)
        fixed = _params(None, None, sets)
        shape, size = api.parse_input(input, batch)
        with progress(sys.stderr.isatty()) as tick:
            result = api.sweep(
                arch,
                grid,
                fixed,
                dtype.value,
                progress=tick,
                device=device,
                device_file=device_file,
                jobs=jobs,
                scheduler=scheduler,
                batch=size,
                input_shape=shape,
            )
            if not result.compiled:
                sys.stderr.write(f"note: {visible(result.note)}\n")
            # written as rows are computed, which is when the bar moves
            for chunk in _renderer(fmt).sweep_chunks(result):
                sys.stdout.write(chunk)

    _guard(debug, body)


@app.command()
def explain(
    arch: Arch,
    targets: Annotated[
        list[str] | None,
        typer.Argument(help="Layer names or block prefixes; none: the totals."),
    ] = None,
    alpha: Alpha = None,
    rho: Rho = None,
    sets: Sets = None,
    input: Input = None,
    dtype: DTypeOpt = DType.fp32,
    free: Free = None,
    fmt: Output = TABLE,
    debug: Debug = False,
) -> None:
    """Formula, substituted values and result for each metric of a layer or block."""

    def body() -> None:
        from convcalc import api

        shape = api.parse_shape(input) if input else None
        result = api.explain(
            arch, targets or [], _params(alpha, rho, sets), shape, dtype.value, _free(free)
        )
        sys.stdout.write(_renderer(fmt).explanations(result))

    _guard(debug, body)


OutFile = Annotated[str, typer.Option("--output", "-o", help="The file to write.")]
ReviewAlpha = Annotated[
    str | None,
    typer.Option("--alpha", help="Width multiplier; a list or range (0.25:1:0.25) sweeps it."),
]
ReviewRho = Annotated[
    str | None,
    typer.Option("--rho", help="Resolution multiplier; a list or range (0.5,0.75,1) sweeps it."),
]
Vary = Annotated[
    list[str] | None, typer.Option("--vary", help="Sweep any param: name=values (repeatable).")
]
StageDepth = Annotated[
    int | None,
    typer.Option("--depth", min=1, help="Fold stage bars by the first N name parts."),
]


def _review(
    archs: list[str],
    alpha: str | None,
    rho: str | None,
    sets: list[str] | None,
    vary: list[str] | None,
    input: str | None,
    dtype: Any,
    devices: list[str],
    device_file: str | None,
) -> Any:
    """The networks, devices and sweep of ``report`` and ``plot``: an ``--alpha`` or
    ``--rho`` list or range is a sweep axis, a single value a setting."""
    from convcalc import api

    params = _params(None, None, sets)
    grid: dict[str, list[Any]] = {}
    for name, value in (("alpha", alpha), ("rho", rho)):
        if value is not None and (":" in value or "," in value):
            grid[name] = api.parse_values(value)
        elif value is not None:
            params[name] = value
    for item in vary or []:
        name, values = api.parse_assignment(item)
        grid[name] = api.parse_values(values)
    shape = api.parse_shape(input) if input else None
    return api.review(
        archs, params, grid, shape, dtype.value if dtype else None, devices, device_file
    )


@app.command()
def convert(
    arch: Arch,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="The YAML file to write (default: standard output)."),
    ] = None,
    alpha: Alpha = None,
    rho: Rho = None,
    sets: Sets = None,
    input: Input = None,
    debug: Debug = False,
) -> None:
    """Write any file convcalc reads as an editable convcalc YAML that analyses the same."""

    def body() -> None:
        from convcalc import api

        shape = api.parse_shape(input) if input else None
        text = api.convert(api.load(arch, _params(alpha, rho, sets), shape))
        if output is None:
            sys.stdout.write(text)
        else:
            _write(output, text)

    _guard(debug, body)


def _write(path: str, data: str | None = None, fig: Any = None) -> None:
    from convcalc.errors import InputFileError

    try:
        if fig is not None:
            from convcalc.render.charts import save

            save(fig, path)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(data or "")
    except OSError as e:
        raise InputFileError(f"cannot write {path}: {e.strerror}") from None
    sys.stderr.write(f"wrote {path}\n")


@app.command()
def report(
    archs: Annotated[
        list[str],
        typer.Argument(help="One or more architectures; per-item params as name:k=v,k=v."),
    ],
    output: OutFile,
    alpha: ReviewAlpha = None,
    rho: ReviewRho = None,
    sets: Sets = None,
    vary: Vary = None,
    input: Input = None,
    dtype: DeviceDType = None,
    device: Annotated[
        list[str] | None,
        typer.Option("--device", help="Device profiles: repeatable, or a comma list."),
    ] = None,
    device_file: DeviceFile = None,
    depth: StageDepth = None,
    debug: Debug = False,
) -> None:
    """A design-review page: one self-contained HTML file with the tables and the charts
    (needs the report extra: pip install 'convcalc[report]')."""

    def body() -> None:
        from convcalc.render import charts, html

        charts.require()
        names = [n.strip() for d in device or [] for n in d.split(",") if n.strip()]
        review = _review(archs, alpha, rho, sets, vary, input, dtype, names, device_file)
        _write(output, html.page(review, depth))

    _guard(debug, body)


Chart = Enum("Chart", [(c, c) for c in ("stages", "memory", "roofline", "rf", "sweep")], type=str)


@app.command()
def plot(
    arch: Arch,
    chart: Annotated[Chart, typer.Option("--chart", help="Which chart to draw.")],
    output: Annotated[str, typer.Option("--output", "-o", help="The image: .svg or .png.")],
    alpha: ReviewAlpha = None,
    rho: ReviewRho = None,
    sets: Sets = None,
    vary: Vary = None,
    input: Input = None,
    dtype: DeviceDType = None,
    device: Device = None,
    device_file: DeviceFile = None,
    depth: StageDepth = None,
    debug: Debug = False,
) -> None:
    """One chart of the review page as an SVG or PNG image (needs the report extra)."""

    def body() -> None:
        from convcalc.render import charts

        charts.require()
        if not output.lower().endswith((".svg", ".png")):
            from convcalc.errors import UsageError

            raise UsageError(
                f"cannot tell the image format of {output!r}", hint="end it in .svg or .png"
            )
        review = _review(
            [arch], alpha, rho, sets, vary, input, dtype, [device] if device else [], device_file
        )
        _write(output, fig=charts.draw(review.networks[0], chart.value, depth))

    _guard(debug, body)


class _Visible:
    """A stream that shows control characters in what it is given (click's own usage
    errors quote the command line as it was typed)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        from convcalc.render.sanitize import visible

        return self.stream.write(visible(text, newlines=True))

    def flush(self) -> None:
        self.stream.flush()


def main() -> None:
    """Console-script entry point: click's usage errors shown safely, and a closed stdout
    (``| head``) ends quietly, also when it is found only by the final flush."""
    from typer.exceptions import TyperException

    from convcalc.context import collector_paused

    try:
        with collector_paused():  # the rendering of a large report too
            code = app(standalone_mode=False)
        sys.stdout.flush()
    except BrokenPipeError:
        _pipe_closed()
    except TyperException as err:  # click's usage errors: unknown option, bad value
        err.show(file=_Visible(sys.stderr))  # type: ignore[attr-defined]
        raise SystemExit(err.exit_code) from None
    except typer.Abort:
        sys.stderr.write("Aborted!\n")
        raise SystemExit(1) from None
    raise SystemExit(code if isinstance(code, int) else 0)
