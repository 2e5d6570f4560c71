#!/usr/bin/env bash
# Regenerates docs/cli.md from real runs: bash docs/cli.sh > docs/cli.md
cat <<'EOF'
# Command line

```
convcalc [--version] COMMAND [OPTIONS]
```

Results go to stdout; warnings and errors go to stderr. Every command takes `--debug`,
which shows a traceback instead of the one-line error.

## `convcalc analyze ARCH`

Per-layer shapes, params, MACs, FLOPs, memory and receptive fields, with totals.

| option | meaning |
|---|---|
| `ARCH` | a YAML file, or a bundled name (`convcalc list`) with or without `.yaml` |
| `--alpha A`, `--rho R` | set the params `alpha` (width multiplier) and `rho` (resolution multiplier); an error if the file does not declare them |
| `--set name=value` | set any declared param (repeatable); values are constant expressions (`--set classes=10`, `--set g=3`) |
| `--input CxHxW` | replace the file's input shape |
| `--dtype fp32\|fp16\|bf16\|int8` | bytes per value for memory columns (default fp32) |
| `--format table\|json\|csv\|markdown`, `-f` | output format (default: a rich table) |
| `--depth N` | fold consecutive layers into one row by the first N parts of their names |

Numbers such as `0.714` are exact decimals, so `--rho 0.714` makes the input
round(224 x 0.714) = round(159.936) = 160.

```
$ convcalc analyze mobilenet_v2 --alpha 0.5 --rho 0.714 --depth 2
EOF
python -m convcalc analyze mobilenet_v2 --alpha 0.5 --rho 0.714 --depth 2
cat <<'EOF'
```

`--format markdown` pastes into a design review as it is:

```
$ convcalc analyze vgg16 --depth 1 -f markdown
EOF
python -m convcalc analyze vgg16 --depth 1 -f markdown
cat <<'EOF'
```

`--format json` is the `convcalc.analysis/1` document: `schema`, `architecture`, `source`,
`bindings`, `input`, `dtype`, `layers` (each with `name`, `type`, `inputs`, `output_shape`,
`params`, `macs`, `flops`, `activation_bytes`, `traffic_bytes`, and `rf` with `size`,
`jump`, `start` per axis, or `null` for vectors), `totals` (`params`, `macs`, `flops`,
`param_bytes`, `activation_bytes`, `peak_activation_bytes`, `receptive_field`) and
`warnings`. Counts are exact integers. `--format csv` is the per-layer table with plain
numbers.

```
$ convcalc analyze mobilenet_v2 -f json | python -c "import json,sys; print(json.load(sys.stdin)['totals'])"
EOF
python -m convcalc analyze mobilenet_v2 -f json | python -c "import json,sys; print(json.load(sys.stdin)['totals'])"
cat <<'EOF'
```

Symbolic options (see [symbolic.md](symbolic.md)):

| option | meaning |
|---|---|
| `--symbolic` | leave free the params marked `symbolic: true` (alpha, rho) and every param without a default: counts come out as formulas |
| `--free a,b` | leave the named params free even though they have defaults |
| `--no-round` | drop every rounding rule (make_divisible, round, floor and ceil in sizes): the smooth formulas papers write |

Device options (see [devices.md](devices.md)):

| option | meaning |
|---|---|
| `--device NAME` | estimate latency, memory fit and budget verdicts on a profile (`convcalc devices`) |
| `--device-file PATH` | the same with a profile file of your own |
| `--fail-over-budget` | exit with code 3 when a verdict fails (for CI gates) |

With a device and no `--dtype`, the device's own dtype is used for its estimate.

```
$ convcalc analyze resnet50 --device mcu-stm32f746 --fail-over-budget -f markdown | tail -5
EOF
python -m convcalc analyze resnet50 --device mcu-stm32f746 --fail-over-budget -f markdown | tail -5
cat <<'EOF'
```

## `convcalc compare A B [C ...]`

Totals side by side with ratios against the first item. Each item is an architecture,
optionally with its own params: `mobilenet:alpha=0.5,rho=0.714`. `--alpha`, `--rho` and
`--set` apply to every item that declares the param. `--by type` or `--by stage` adds a
breakdown of params and MACs; `--symbolic`, `--free`, `--no-round` and the device options
work as for `analyze`. Ratios are exact; with free params they are simplified formulas.

```
$ convcalc compare vgg16 mobilenet
EOF
python -m convcalc compare vgg16 mobilenet
cat <<'EOF'
$ convcalc compare blocks/conv_standard blocks/conv_depthwise_separable -f markdown
EOF
python -m convcalc compare blocks/conv_standard blocks/conv_depthwise_separable -f markdown
cat <<'EOF'
```

`--format json` is `{"schema": "convcalc.comparison/1", "items": [analysis, ...],
"ratios": [{"params": r, "macs": r, "flops": r, "param_bytes": r,
"peak_activation_bytes": r}, ...]}`: a number when concrete, a formula string
(`"1/N + 1/D_K**2"`) when symbolic.

## `convcalc sweep ARCH`

Params, MACs, FLOPs and peak activation memory at every point of a grid. `--alpha` and
`--rho` take lists (`0.25,0.5,1`) or inclusive ranges (`start:stop:step`); `--vary
name=values` sweeps any param; `--set` fixes others. The network is analysed once with the
varied params free and the totals are compiled into exact formulas; where the structure
itself depends on a varied param, each point is analysed on its own and a note says so.
A progress bar shows on a terminal. With `--device NAME` each point also gets the device's
latency estimate and budget verdict (from a per-point analysis).

```
$ convcalc sweep mobilenet --alpha 1,0.75,0.5,0.25 -f markdown
EOF
python -m convcalc sweep mobilenet --alpha 1,0.75,0.5,0.25 -f markdown
cat <<'EOF'
```

## `convcalc explain ARCH [LAYER ...]`

For each layer: every metric's formula in the layer's own symbols, the values substituted,
and the number; for a block prefix (`ir.1`) or no name at all (the whole network), the sum
of its parts (a formula with `--free`). `--format markdown|json` too.

```
$ convcalc explain mobilenet_v2 ir.1.1.dw.dwconv
EOF
python -m convcalc explain mobilenet_v2 ir.1.1.dw.dwconv
cat <<'EOF'
```

## `convcalc validate ARCH`

Checks a file without printing an analysis, for CI gates: the first error (as `analyze`
would report it, with the same exit code), or the design warnings of
[validate.md](validate.md) (gridding dilation rates, a dilation larger than the kernel, a
receptive field that outgrows the input, a ReLU after a linear bottleneck, grouped convs with
no cross-group flow). Warnings never fail the check; `analyze` prints them too.
`--format json` gives `convcalc.validation/1` diagnostics (code, severity, file, line, layer,
message, hint, reference); `--no-warnings` skips the design rules.

```
$ convcalc validate blocks/hdc_2_2_2
EOF
python -m convcalc validate blocks/hdc_2_2_2
cat <<'EOF'
```

## `convcalc devices`

Every device profile (bundled, and your own in `$CONVCALC_DEVICES` or
`~/.config/convcalc/devices`): class, peak compute, bandwidth, memory, budgets and sources.
`--format json|markdown`.

## `convcalc list`

The bundled architectures and blocks, each with its one-line description and source.

## `convcalc layers [OP]`

Every layer kind with its arguments, or one kind's. `--format markdown` prints
[layers.md](layers.md).

## Exit codes

| code | meaning |
|---|---|
| 0 | success |
| 1 | the architecture, an expression or a value is wrong (syntax, schema, names, shapes) |
| 2 | command-line usage: unknown option, bad value, a `--set` name the file does not declare |
| 3 | a device budget failed and `--fail-over-budget` was given |
| 4 | a file is missing, unreadable or not UTF-8 |
| 5 | a size limit was exceeded (dimension, repeat count, layer count, expression) |
| 70 | an internal error (a bug: run again with `--debug` and report the traceback) |
| 130 | interrupted |

## Errors

An error is one message on stderr: the file and line, the layer, what is wrong, and a hint.

```
$ cat narrow.yaml
EOF
cat /tmp/narrow.yaml
echo '$ convcalc analyze narrow.yaml'
(cd /tmp && convcalc analyze narrow.yaml 2>&1; rc=$?; echo "\$ echo \$?"; echo $rc)
echo '```'
