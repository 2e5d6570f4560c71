#!/usr/bin/env bash
# Regenerates docs/symbolic.md from real runs: bash docs/symbolic.sh > docs/symbolic.md
set -u
cat <<'EOF'
# Formulas: free parameters, exact ratios, sweeps and derivations

Every count convcalc prints is computed by rules that work on numbers and on symbols
alike. Leave a parameter without a value and the same rules give formulas: how cost grows
with the width multiplier alpha and the resolution multiplier rho, or why a
depthwise-separable conv costs 1/N + 1/D_K^2 of a standard one.

## Free parameters

A parameter is free (a symbol) when

- it has no default in the file (`params: {N: null}` or `N:`): the bundled blocks
  `blocks/conv_standard` and friends are written this way, so they always give formulas;
- it is named in `--free alpha,rho`;
- `--symbolic` is given and the file marks it `symbolic: true` (the width and resolution
  multipliers of the MobileNets).

A value given with `--set`, `--alpha` or `--rho` always wins over `--symbolic`.

Symbols carry what the file says of the parameter: `name: 1.0` (a decimal default) or
`type: real` is a positive real (a multiplier); `name: 3`, no default, or `type: int` is a
positive integer (a channel count, a kernel size); `type: even` is an even integer (a grid
that halves exactly). Integer symbols let `floor(D_F/1)` simplify to `D_F`.

```yaml
params:
  alpha: {default: 1.0, symbolic: true, doc: width multiplier}
  rho: {default: 1.0, symbolic: true, doc: resolution multiplier}
  classes: 1000
```

Rounding stays exact and symbolic: `make_divisible(32*alpha, 8)` prints as
`MakeDivisible(32*alpha, 8, 8)` and `round(224*rho)` as `RoundHalfEven(224*rho)` until a
value is bound. `--no-round` replaces every rounding (make_divisible, round, floor, ceil,
and the floor in output sizes) by its argument: the smooth formula a paper writes.

```
$ convcalc analyze mobilenet --symbolic --no-round -f json | python -c "import json,sys; print(json.load(sys.stdin)['symbolic'])"
EOF
python -m convcalc analyze mobilenet --symbolic --no-round -f json | python -c "import json,sys; print(json.load(sys.stdin)['symbolic'])"
cat <<'EOF'
```

MobileNet v1's multiply-adds are a polynomial in alpha and rho, as the paper's
D_K D_K alpha M rho^2 D_F^2 + alpha M alpha N rho^2 D_F^2 summed over layers says; its
parameters do not depend on rho. Substituting alpha = 1/2 and rho = 160/224 gives the
integers of `convcalc analyze mobilenet --alpha 0.5 --rho 160/224 --no-round` (a test checks
this, and a property test checks symbolic-then-substituted against concrete runs for random
values over every bundled network).

With rounding kept, the formulas hold the rounding functions:

```
$ convcalc analyze mobilenet_v2 --free alpha -f json | python -c "import json,sys; print(json.load(sys.stdin)['symbolic']['params'][:300], '...')"
EOF
python -m convcalc analyze mobilenet_v2 --free alpha -f json | python -c "import json,sys; print(json.load(sys.stdin)['symbolic']['params'][:300], '...')"
cat <<'EOF'
```

**Structure that depends on a free parameter.** A `when` condition that cannot be decided
(MobileNetV2's residual exists when a stage keeps its channel count, and at some widths
`make_divisible` makes two stages equal) weights its layer by an indicator
`Piecewise((1, condition), (0, True))`: the layer's costs count only where the condition
holds. Such a layer must read the previous layer and keep its shape. Conditions on repeats,
block uses and `a if c else b` must be decidable; otherwise convcalc says which parameters
to bind.

**Peak memory** with free parameters is a `Max` of the candidate sums, decided once values
are bound.

## `compare`: ratios by computation

```
$ convcalc compare blocks/conv_standard blocks/conv_depthwise_separable -f json | python -c "import json,sys; print(json.load(sys.stdin)['ratios'])"
EOF
python -m convcalc compare blocks/conv_standard blocks/conv_depthwise_separable -f json | python -c "import json,sys; print(json.load(sys.stdin)['ratios'])"
cat <<'EOF'
```

| blocks (`architectures/blocks/`) | ratio of MACs (second / first) | source |
|---|---|---|
EOF
for pair in "conv_standard conv_depthwise_separable Howard-et-al.-2017-§3.1" "conv_nxn conv_1xn_nx1 seed-002;-Szegedy-et-al.-2016-§3.2" "conv_dense conv_grouped seed-002" "grid_reduction_strided grid_reduction_pool Szegedy-et-al.-2016-§5" "conv5x5 stack_3x3_x2 Simonyan-&-Zisserman-2015-§2.3" "conv7x7 stack_3x3_x3 Simonyan-&-Zisserman-2015-§2.3"; do
  set -- $pair
  r=$(python -m convcalc compare blocks/$1 blocks/$2 -f json | python -c "import json,sys; print(json.load(sys.stdin)['ratios'][1]['macs'])")
  echo "| \`$1\` / \`$2\` | \`$r\` | ${3//-/ } |"
done
cat <<'EOF'

`blocks/sqrt_bottleneck` (1x1 to sqrt(C_O), W_K x H_K, 1x1 to C_O) has
EOF
python -m convcalc analyze blocks/sqrt_bottleneck -f json | python -c "import json,sys; print('\`' + json.load(sys.stdin)['symbolic']['params'] + '\` weights.')"
cat <<'EOF'

Concrete ratios are exact fractions (shown as decimals):

```
$ convcalc compare vgg16 mobilenet -f markdown
EOF
python -m convcalc compare vgg16 mobilenet -f markdown
cat <<'EOF'
```

MobileNet has 1/32.7 of VGG-16's parameters and 1/27.2 of its multiply-adds. The seed
notes' "1/26.9 and 1/34.3" are not what the paper's own Table 8 figures give (4.2M vs 138M
parameters, 569M vs 15,300M mult-adds: 1/32.9 and 1/26.9); see
[figures-modern.md](figures-modern.md).

## `sweep`

```
$ convcalc sweep mobilenet --rho 1,6/7,5/7,4/7 -f markdown
EOF
python -m convcalc sweep mobilenet --rho 1,6/7,5/7,4/7 -f markdown
cat <<'EOF'
```

These are the MobileNet paper's Table 7 rows (569, 418, 290, 186 million mult-adds); Table 6
(alpha 1, 0.75, 0.5, 0.25: 569, 325, 149, 41 million, 4.2, 2.6, 1.3, 0.5 million params) is
`--alpha 1,0.75,0.5,0.25`. Every channel count of the paper's Table 1 is a multiple of 32,
so at these alphas floor(c x alpha) is exact and no rounding rule changes the figures; the
bundled file uses floor(c x alpha), Keras's int(c x alpha). The 160 row prints 290 where the
exact count is 290.68M (the paper's other rows round; TF-slim's own table lists 291).

## `explain`

```
$ convcalc explain mobilenet_v2 ir.1.1.dw.dwconv -f markdown
EOF
python -m convcalc explain mobilenet_v2 ir.1.1.dw.dwconv -f markdown
cat <<'EOF'
```

The formulas are not written per layer kind: the kind's own rules, the ones that compute
the numbers, run on symbols standing for its inputs and arguments, so a derivation cannot
drift from the count. A block prefix (`ir.1`) or no name (the network) lists the sum of its
parts; with `--free` the sum is a formula.
EOF
