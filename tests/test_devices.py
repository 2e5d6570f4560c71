"""Device profiles (validation, search path) and the device estimate (roofline, fusion,
memory fit, verdicts).

Every expected number is a hand calculation written beside it, or a published figure with
its source; none is convcalc output pasted back.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from convcalc import api
from convcalc.devices import (
    DeviceProfileError,
    estimate,
    list_profiles,
    load_profile,
    parse_profile,
    profile_names,
)
from convcalc.devices.schema import figure_paths
from convcalc.devices.search import bundled_dir
from convcalc.errors import ConvcalcError, SpecError, UsageError
from convcalc.report import LayerRow, Report, Totals

REQUIRED = {
    # GPUs
    "gpu-a100",
    "gpu-h100",
    "gpu-t4",
    "gpu-gtx1080ti",
    "jetson-nano",
    "jetson-orin-nano",
    # ARM CPUs and a phone core
    "cortex-a53-rpi3",
    "cortex-a72-rpi4",
    "cortex-a76-sd855",
    "snapdragon-810",
    "pixel1-bigcore",
    # microcontrollers
    "mcu-stm32f746",
    "mcu-stm32h743",
    # pure budgets
    "mobile-600m",
    "shufflenet-150mflops",
    "mobile-75ms",
}

# A five-layer network small enough to cost by hand (input 3x8x8, fp32):
#   pw   1x1 conv 3->4, no bias: params 4*3 = 12, MACs 8*8*4*3 = 768, FLOPs 2*768 = 1536,
#        traffic (in 192 + weights 12 + out 256) * 4 B = 1840 B
#   act  relu on 256 values: 256 FLOPs, traffic (256 + 256) * 4 = 2048 B
#   pool global average over 4x8x8: 256 FLOPs (one per input value), out 4,
#        traffic (256 + 4) * 4 = 1040 B
#   flat flatten: a view
#   fc   linear 4->2 with bias: params 4*2 + 2 = 10, MACs 8, FLOPs 2*8 + 2 bias adds = 18,
#        traffic (4 + 10 + 2) * 4 = 64 B
TINY = """\
convcalc: 1
name: tiny
input: [3, 8, 8]
layers:
  - {op: conv, out: 4, k: 1, bias: false, name: pw}
  - {op: relu, name: act}
  - {op: global_avgpool, name: pool}
  - {op: flatten, name: flat}
  - {op: linear, out: 2, name: fc}
"""

# A device whose arithmetic is easy: 1 GFLOP/s, 1 GB/s, distinct efficiencies per kind.
TOY = """\
convcalc_device: 1
name: toy
class: cpu
dtype: fp32
batch: 1
peak_flops: {fp32: 1e9, fp16: 2e9}
bandwidth_Bps: 1e9
memory_bytes: 1e6
efficiency: {conv: 0.5, conv1x1: 0.5, grouped: 0.2, linear: 0.1, elementwise: 0.25, bandwidth: 0.5}
overhead_s: 1e-6
fused: []
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Report:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return api.analyze(path)


def write(tmp_path: Path, text: str, name: str = "toy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def toy(tmp_path: Path, **replace: str) -> Path:
    """The toy profile with some lines replaced (key -> whole new line, '' drops it)."""
    lines = []
    for line in TOY.splitlines():
        key = line.split(":", 1)[0]
        if key in replace:
            if replace[key]:
                lines.append(replace[key])
        else:
            lines.append(line)
    return write(tmp_path, "\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------
# Bundled profiles


def test_required_profiles_are_bundled() -> None:
    assert set(profile_names()) >= REQUIRED


@pytest.mark.parametrize("path", sorted(bundled_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_every_bundled_profile_validates_and_cites_every_figure(path: Path) -> None:
    profile = load_profile(path.stem)
    assert profile.name == path.stem
    missing = [k for k in figure_paths(profile) if k not in profile.sources]
    assert not missing, f"{path.name}: figures without a source: {missing}"
    if profile.has_hardware:
        assert profile.peak(profile.dtype) > 0
        assert all(0 < v <= 1 for v in profile.efficiency.values())
        assert profile.calibration  # says whether and how it was calibrated


def test_list_profiles_orders_by_class() -> None:
    names = [p.name for p in list_profiles()]
    assert names.index("gpu-a100") < names.index("cortex-a53-rpi3") < names.index("mobile-600m")


def test_microcontroller_memories_are_the_papers() -> None:
    # MCUNet (arXiv:2007.10319) Sec. 2: STM32F746 has 320 kB SRAM and 1 MB flash; the
    # STM32H743 512 kB and 2 MB (MCUNetV2). kB here are KiB: 320 * 1024, 1024 * 1024.
    f7, h7 = load_profile("mcu-stm32f746"), load_profile("mcu-stm32h743")
    assert (f7.sram_bytes, f7.flash_bytes) == (320 * 1024, 1024 * 1024)
    assert (h7.sram_bytes, h7.flash_bytes) == (512 * 1024, 2 * 1024 * 1024)


def test_budget_profiles_state_the_papers_limits() -> None:
    # DARTS App. A.2.3: mobile setting < 600M multiply-adds at 224x224.
    b = load_profile("mobile-600m").budget("macs")
    assert b is not None and b.max == 600e6
    # ShuffleNet v1 abstract: 10-150 MFLOPs (multiply-adds).
    b = load_profile("shufflenet-150mflops").budget("macs")
    assert b is not None and (b.min, b.max) == (10e6, 150e6)
    # MnasNet Sec. 6.1: 75 ms on a Pixel 1 big core; the latency uses that profile's
    # hardware: 8 FLOP/cycle x 2.15 GHz = 17.2 GFLOP/s.
    p = load_profile("mobile-75ms")
    assert p.budget("latency_s").max == 0.075  # type: ignore[union-attr]
    assert p.peak("fp32") == 17.2e9
    assert p.threads == 1


# ---------------------------------------------------------------------------------------
# Malformed profiles: each names the file and the field (and the line)


def error_of(path: Path) -> DeviceProfileError:
    with pytest.raises(DeviceProfileError) as info:
        load_profile(path=path)
    err = info.value
    assert isinstance(err, SpecError)
    assert err.file == str(path)
    return err


def test_missing_field_names_file_and_field(tmp_path: Path) -> None:
    err = error_of(toy(tmp_path, bandwidth_Bps=""))
    assert "bandwidth_Bps" in err.message and "missing" in err.message
    assert str(tmp_path / "toy.yaml") in str(err)


def test_negative_bandwidth_names_field_and_line(tmp_path: Path) -> None:
    err = error_of(toy(tmp_path, bandwidth_Bps="bandwidth_Bps: -5e9"))
    assert "'bandwidth_Bps'" in err.message and "positive" in err.message
    assert err.line == 7  # the seventh line of TOY


def test_unknown_dtype_names_field(tmp_path: Path) -> None:
    err = error_of(toy(tmp_path, dtype="dtype: fp64"))
    assert "'dtype'" in err.message and "fp64" in err.message
    assert err.line == 4


def test_unknown_dtype_in_peaks_names_field(tmp_path: Path) -> None:
    err = error_of(toy(tmp_path, peak_flops="peak_flops: {fp32: 1e9, fp8: 4e9}"))
    assert "peak_flops.fp8" in err.message


def test_missing_peak_for_the_default_dtype(tmp_path: Path) -> None:
    err = error_of(toy(tmp_path, peak_flops="peak_flops: {fp16: 2e9}"))
    assert "peak_flops.fp32" in err.message and "missing" in err.message


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("efficiency: {conv: 1.5}", "efficiency.conv", "above 1"),
        ("efficiency: {deconv: 0.5}", "efficiency.deconv", "unknown op kind"),
        ("overhead_s: -1e-6", "overhead_s", "non-negative"),
        ("batch: 0", "batch", "positive"),
        ("batch: 2.5", "batch", "whole number"),
        ("memory_bytes: lots", "memory_bytes", "not a number"),
        ("class: tpu", "class", "unknown class"),
        ("fused: [batchnorm]", "fused[0]", "unknown op"),
    ],
)
def test_bad_values_name_the_field(tmp_path: Path, line: str, field: str, words: str) -> None:
    key = line.split(":", 1)[0]
    err = error_of(toy(tmp_path, **{key: line}))
    assert f"'{field}'" in err.message and words in err.message


def test_unknown_field_is_refused_with_the_list(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, TOY + "bandwith_Bps: 1e9\n"))
    assert "'bandwith_Bps'" in err.message and "unknown field" in err.message
    assert err.hint and "bandwidth_Bps" in err.hint


def test_budget_range_must_be_ordered(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, TOY + "budgets:\n  macs: {min: 5e6, max: 1e6}\n"))
    assert "'budgets.macs'" in err.message


def test_extends_unknown_and_self(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, TOY + "extends: no-such-device\n"))
    assert "'extends'" in err.message
    err = error_of(write(tmp_path, TOY + "extends: toy\n"))
    assert "extends itself" in err.message


def test_yaml_syntax_error_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_profile(path=write(tmp_path, "convcalc_device: 1\nname: [x\n"))
    assert info.value.line is not None


def test_unknown_device_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as info:
        load_profile("no-such-device")
    assert info.value.hint and "convcalc devices" in info.value.hint


def test_user_directory_profiles_are_found_and_shadow_bundled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVCALC_DEVICES", str(tmp_path))
    write(tmp_path, TOY, "toy.yaml")
    write(tmp_path, TOY.replace("name: toy", "name: gpu-t4"), "gpu-t4.yaml")
    assert load_profile("toy").peak("fp32") == 1e9
    assert load_profile("gpu-t4").source == str(tmp_path / "gpu-t4.yaml")
    assert "toy" in profile_names()


def test_extends_inherits_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVCALC_DEVICES", str(tmp_path))
    write(tmp_path, TOY, "toy.yaml")
    child = write(
        tmp_path,
        "convcalc_device: 1\nname: toy-gate\nclass: budget\nextends: toy\n"
        "budgets: {latency_s: 0.001}\n",
        "toy-gate.yaml",
    )
    p = load_profile(path=child)
    assert p.peak("fp32") == 1e9 and p.efficiency["linear"] == 0.1
    assert p.budget("latency_s").max == 0.001  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------
# The estimate


def test_cost_classes_come_from_the_kinds() -> None:
    """Each kind says how a device runs it (docs/devices.md, op classes)."""
    from convcalc.layers import REGISTRY

    def cls(op: str, x: tuple, **raw: object) -> str:
        kind = REGISTRY[op]
        return kind.cost_class(kind.bind(raw, {}), [x])

    fmap = (96, 56, 56)
    assert cls("conv", fmap, out=64, k=3, stride=2) == "conv"
    assert cls("conv", fmap, out=64, k=1) == "conv1x1"
    assert cls("conv", fmap, out=64, k=3, groups=32) == "grouped"
    assert cls("conv", fmap, out=48, k=1, groups=3) == "grouped"  # ShuffleNet's grouped 1x1
    assert cls("dwconv", fmap, k=3) == "grouped"
    assert cls("maxpool", fmap, k=3) == "elementwise"  # a window, but no multiply-adds
    assert cls("shift", fmap) == "elementwise"
    assert cls("linear", (96,), out=10) == "linear"
    assert cls("add", fmap) == "elementwise"
    assert cls("channel_shuffle", fmap, groups=3) == "elementwise"
    assert cls("flatten", fmap) == "view"


def test_roofline_by_hand(tiny: Report, tmp_path: Path) -> None:
    est = estimate(tiny, load_profile(path=toy(tmp_path)))
    t = {x.name: x for x in est.layers}
    # pw (conv1x1): compute 1536 / (1e9 * 0.5) = 3.072 us; memory 1840 / (1e9 * 0.5)
    # = 3.68 us -> memory-bound, 3.68 + 1 (overhead) = 4.68 us
    assert t["pw"].bound == "memory"
    assert t["pw"].compute_s == pytest.approx(3.072e-6)
    assert t["pw"].time_s == pytest.approx(4.68e-6)
    # act (elementwise): compute 256 / 0.25e9 = 1.024 us; memory 2048 / 0.5e9 = 4.096 us
    assert t["act"].time_s == pytest.approx(5.096e-6)
    # pool: compute 1.024 us; memory 1040 / 0.5e9 = 2.08 us -> 3.08 us
    assert t["pool"].time_s == pytest.approx(3.08e-6)
    # flat: a view, no time and no overhead
    assert t["flat"].time_s == 0
    # fc (linear): compute 18 / (1e9 * 0.1) = 0.18 us; memory 64 / 0.5e9 = 0.128 us
    # -> compute-bound, 1.18 us
    assert t["fc"].bound == "compute"
    assert t["fc"].time_s == pytest.approx(1.18e-6)
    # total 4.68 + 5.096 + 3.08 + 0 + 1.18 = 14.036 us; throughput 1 / 14.036 us
    assert est.latency_s == pytest.approx(14.036e-6)
    assert est.throughput_per_s == pytest.approx(1 / 14.036e-6)
    # intensity: FLOPs (1536 + 256 + 256 + 18 = 2066) / traffic (1840 + 2048 + 1040 + 64
    # = 4992 B; the view moves nothing)
    assert est.arithmetic_intensity == pytest.approx(2066 / 4992)


def test_batch_scales_activations_not_weights(tiny: Report, tmp_path: Path) -> None:
    est = estimate(tiny, load_profile(path=toy(tmp_path)), batch=2)
    pw = est.layers[0]
    # FLOPs 2 * 1536 = 3072; traffic (2 * (192 + 256) + 12) * 4 = 3632 B
    assert pw.flops == 3072
    assert pw.traffic_bytes == 3632
    # memory 3632 / 0.5e9 = 7.264 us beats compute 3072 / 0.5e9 = 6.144 us; + 1 us
    assert pw.time_s == pytest.approx(8.264e-6)
    assert est.throughput_per_s == pytest.approx(2 / est.latency_s)  # type: ignore[operator]


def test_dtype_changes_bytes_and_peak(tiny: Report, tmp_path: Path) -> None:
    est = estimate(tiny, load_profile(path=toy(tmp_path)), dtype="fp16")
    pw = est.layers[0]
    # fp16: 460 values * 2 B = 920 B -> 920 / 0.5e9 = 1.84 us; compute 1536 / (2e9 * 0.5)
    # = 1.536 us -> memory-bound, 2.84 us with the overhead
    assert pw.traffic_bytes == 920
    assert pw.time_s == pytest.approx(2.84e-6)
    # weights (12 + 10) * 2 B
    assert est.param_bytes == 44


def test_fused_activation_runs_inside_its_conv(tiny: Report, tmp_path: Path) -> None:
    est = estimate(tiny, load_profile(path=toy(tmp_path, fused="fused: [relu]")))
    t = {x.name: x for x in est.layers}
    # act joins pw: FLOPs 1536 + 256 = 1792 -> compute 3.584 us < memory 3.68 us
    assert t["act"].fused_into == "pw" and t["act"].time_s == 0
    assert t["pw"].flops == 1792
    assert t["pw"].time_s == pytest.approx(4.68e-6)
    # total 4.68 + 3.08 + 1.18 = 8.94 us
    assert est.latency_s == pytest.approx(8.94e-6)
    # peak activations: input 192 + pw 256 = 448 values (relu works in place) = 1792 B
    assert est.peak_activation_bytes == 448 * 4


def test_memory_fit_and_budget_verdicts(tiny: Report, tmp_path: Path) -> None:
    text = TOY + "budgets:\n  params: 20\n  macs: 1000\n  latency_s: 1e-5\n"
    est = estimate(tiny, load_profile(path=write(tmp_path, text)))
    v = {x.budget: x for x in est.verdicts}
    # Peak without fusion: while act runs, pw's and act's outputs (256 + 256 values) are
    # alive = 512 * 4 = 2048 B; weights 22 * 4 = 88 B; 2136 B <= 1e6 B.
    assert est.peak_activation_bytes == 2048
    assert v["memory_bytes"].value == 2136 and v["memory_bytes"].passed
    # params 12 + 10 = 22 > 20: fails by 2
    assert not v["params"].passed and v["params"].margin == -2
    # MACs 768 + 8 = 776 <= 1000: 224 to spare
    assert v["macs"].passed and v["macs"].margin == 224
    # latency 14.036 us > 10 us
    assert not v["latency_s"].passed
    assert est.fits and not est.passed
    assert [x.budget for x in est.failed] == ["params", "latency_s"]


def test_microcontroller_sram_and_flash(tiny: Report, tmp_path: Path) -> None:
    text = TOY.replace("class: cpu", "class: mcu").replace("dtype: fp32", "dtype: int8")
    text = text.replace("peak_flops: {fp32: 1e9, fp16: 2e9}", "peak_flops: {int8: 1e9}")
    text = text.replace("memory_bytes: 1e6", "sram_bytes: 400\nflash_bytes: 50")
    est = estimate(tiny, load_profile(path=write(tmp_path, text)))
    v = {x.budget: x for x in est.verdicts}
    # int8: peak 512 values = 512 B > 400 B SRAM (1.28x, 112 over); weights 22 B <= 50 B
    assert not v["sram_bytes"].passed and v["sram_bytes"].margin == -112
    assert "1.28x" in v["sram_bytes"].reason and "112 over" in v["sram_bytes"].reason
    assert v["flash_bytes"].passed and v["flash_bytes"].value == 22
    assert not est.fits


def test_range_budget_lower_end(tiny: Report) -> None:
    # 776 MACs is below ShuffleNet's 10M lower end
    est = estimate(tiny, load_profile("shufflenet-150mflops"))
    (v,) = est.verdicts
    assert not v.passed and "lower end" in v.reason
    assert est.latency_s is None  # a pure budget cannot time anything
    assert est.warnings  # its budgets are defined at 224x224, this input is 8x8


def test_json_device_section_matches_design(tiny: Report, tmp_path: Path) -> None:
    doc = estimate(tiny, load_profile(path=toy(tmp_path))).to_json()
    json.dumps(doc)  # serialisable
    for key in (
        "name",
        "dtype",
        "batch",
        "latency_s",
        "throughput_per_s",
        "layers",
        "verdicts",
        "fits",
    ):
        assert key in doc
    assert {"name", "time_s", "bound"} <= set(doc["layers"][0])
    assert doc["layers"][0]["bound"] in ("compute", "memory")
    assert {"budget", "limit", "value", "pass"} <= set(doc["verdicts"][0])
    assert math.isclose(sum(x["share"] for x in doc["layers"]), 1.0)


def test_symbolic_report_is_refused() -> None:
    row = LayerRow("x", "conv", ("input",), (1,), 1, "N", "2*N", 4, 8, None, "1x1")
    totals = Totals(1, "N", "2*N", 4, 4, 4, "x", None)
    report = Report("s", "s", {}, (1, 1, 1), "fp32", [row], totals)
    with pytest.raises(UsageError):
        estimate(report, load_profile("gpu-t4"))


# ---------------------------------------------------------------------------------------
# Bundled networks on bundled devices


def test_resnet50_does_not_fit_an_stm32f746() -> None:
    est = estimate(api.analyze("resnet50"), load_profile("mcu-stm32f746"))
    v = {x.budget: x for x in est.verdicts}
    assert not est.fits and not est.passed
    # torchvision's resnet50 has 25,557,032 parameters (DESIGN.md): at int8 that many bytes
    # against 1 MiB of flash, 25,557,032 - 1,048,576 = 24,508,456 B over (24.4x).
    assert v["flash_bytes"].value == 25_557_032
    assert v["flash_bytes"].margin == -24_508_456
    assert "24.4x" in v["flash_bytes"].reason
    # In layer1.0 the 1x1 conv3 output, the projection shortcut and their sum are alive at
    # once: 3 tensors of 256x56x56 = 802,816 int8 values each = 2,408,448 B > 327,680 B.
    assert v["sram_bytes"].value == 3 * 256 * 56 * 56
    assert "Alive at once" in v["sram_bytes"].reason


def test_mobilenet_v2_on_cortex_a76() -> None:
    report = api.analyze("mobilenet_v2", {"alpha": "0.5", "rho": "0.714"})
    est = estimate(report, load_profile("cortex-a76-sd855"))
    assert est.latency_s is not None and est.latency_s > 0
    assert est.fits and est.passed
    # round(224 * 0.714) = 160: the estimate is for the 160x160 network
    assert report.input == (3, 160, 160)
    assert len(est.layers) == len(report.layers)
    assert {t.bound for t in est.layers} <= {"compute", "memory"}


def test_vgg16_over_the_mobile_setting() -> None:
    # VGG-16 has 15.5G multiply-adds (Simonyan & Zisserman report 15.3 GFLOPs-as-MACs),
    # far over the 600M mobile setting.
    est = estimate(api.analyze("vgg16"), load_profile("mobile-600m"))
    (v,) = est.verdicts
    assert not v.passed and v.ratio > 25


# ---------------------------------------------------------------------------------------
# Rendering


def test_renderers(tiny: Report, tmp_path: Path) -> None:
    from convcalc.compare import Comparison, parse_item
    from convcalc.render import csv, markdown, table

    est = estimate(tiny, load_profile(path=toy(tmp_path)))
    text = table.report(tiny, None, est) + table.devices(list_profiles())
    pair = Comparison([parse_item("a"), parse_item("b")], [tiny, tiny])
    text += table.comparison(pair, None, [est, est])
    assert "bound" in text and "share" in text and "verdict on toy" in text
    assert all(name in text for name in REQUIRED)
    md = markdown.report(tiny, None, est)
    assert "| layer | type | output | MACs | time | bound | share |" in md
    assert "4.68 us" in md  # pw, from the hand calculation above
    assert markdown.devices(list_profiles()).count("\n") >= len(REQUIRED) + 2
    assert csv.report(tiny, None, est).splitlines()[0].startswith("name,type")


def test_seconds_format() -> None:
    from convcalc.render.text import seconds

    assert seconds(4.68e-6) == "4.68 us"
    assert seconds(0.075) == "75 ms"
    assert seconds(54.1) == "54.1 s"


def test_profile_text_roundtrip() -> None:
    text = (bundled_dir() / "gpu-t4.yaml").read_text()
    assert parse_profile(text, "gpu-t4.yaml").peak("fp16") == 65e12


def test_errors_are_convcalc_errors(tmp_path: Path) -> None:
    with pytest.raises(ConvcalcError):
        load_profile(path=tmp_path / "missing.yaml")


# ---------------------------------------------------------------------------------------
# Framework and precision (runtime), and the error band (uncertainty)

RUNTIME = "runtime: {framework: tflite, unit: cpu, mode: latency}\n"
BAND = (
    "uncertainty: {basis: calibrated, low: 0.8, high: 1.25, rows: 12, networks: 6, "
    "band: own, band_rows: 12}\n"
)


def test_runtime_and_uncertainty_are_read(tmp_path: Path) -> None:
    p = load_profile(path=write(tmp_path, TOY + RUNTIME + BAND))
    assert p.runtime is not None and p.uncertainty is not None
    assert (p.runtime.framework, p.runtime.unit, p.runtime.mode) == ("tflite", "cpu", "latency")
    u = p.uncertainty
    assert (u.basis, u.low, u.high, u.rows, u.networks, u.band, u.band_rows) == (
        "calibrated",
        0.8,
        1.25,
        12,
        6,
        "own",
        12,
    )
    assert u.text() == "calibrated on 12 rows (6 networks)"
    doc = p.to_json()
    assert doc["runtime"] == {"framework": "tflite", "unit": "cpu", "mode": "latency"}
    assert doc["uncertainty"]["low"] == 0.8


def test_runtime_and_uncertainty_are_optional(tmp_path: Path) -> None:
    """Older profile files (no runtime, no band) still read."""
    p = load_profile(path=toy(tmp_path))
    assert p.runtime is None and p.uncertainty is None


def test_runtime_mode_defaults_to_latency(tmp_path: Path) -> None:
    p = load_profile(path=write(tmp_path, TOY + "runtime: {framework: tensorrt, unit: gpu}\n"))
    assert p.runtime is not None and p.runtime.mode == "latency"


@pytest.mark.parametrize(
    ("text", "field", "words", "line"),
    [
        ("runtime: {framework: tflite, unit: tpu}\n", "runtime.unit", "unknown unit", 12),
        ("runtime: {framework: tflite, unit: cpu, mode: fast}\n", "runtime.mode", "mode", 12),
        ("runtime: {framework: TF Lite, unit: cpu}\n", "runtime.framework", "framework", 12),
        ("runtime: {unit: cpu}\n", "runtime.framework", "framework", 12),
        ("runtime: {framework: tflite, unit: cpu, threads: 4}\n", "runtime.threads", "unknown", 12),
        ("runtime: tflite\n", "runtime", "mapping", 12),
        (BAND.replace("high: 1.25", "high: 0.5"), "uncertainty.high", "below low", 12),
        (BAND.replace("basis: calibrated", "basis: guessed"), "uncertainty.basis", "basis", 12),
        (BAND.replace("band: own", "band: mine"), "uncertainty.band", "band source", 12),
        (BAND.replace("low: 0.8", "low: -0.8"), "uncertainty.low", "positive", 12),
        (BAND.replace(", band_rows: 12", ""), "uncertainty.band_rows", "missing", 12),
        (BAND.replace("band_rows", "bandrows"), "uncertainty.band_rows", "missing", 12),
    ],
)
def test_bad_runtime_and_uncertainty_name_field_and_line(
    tmp_path: Path, text: str, field: str, words: str, line: int
) -> None:
    err = error_of(write(tmp_path, TOY + text))
    assert f"'{field}'" in err.message and words in err.message, err.message
    assert err.line == line  # TOY has 11 lines; the new field is the 12th


def test_extends_makes_another_precision_of_the_same_chip() -> None:
    """pixel4-tflite-cpu4-int8 is cortex-a76-sd855's hardware under another dtype."""
    base, int8 = load_profile("cortex-a76-sd855"), load_profile("pixel4-tflite-cpu4-int8")
    assert int8.extends == "cortex-a76-sd855"
    assert int8.dtype == "int8" and base.dtype == "fp32"
    assert int8.peak_flops == base.peak_flops and int8.bandwidth_Bps == base.bandwidth_Bps
    assert int8.runtime is not None and int8.runtime.framework == "tflite"


@pytest.mark.parametrize("path", sorted(bundled_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_every_device_states_its_basis(path: Path) -> None:
    """Every bundled device carries a band, and its basis agrees with its calibration note:
    'not calibrated' exactly when the basis is class defaults, with no rows."""
    p = load_profile(path.stem)
    if not p.has_hardware:
        return
    u = p.uncertainty
    assert u is not None, f"{path.name}: no uncertainty block (run benchmarks/calibrate.py)"
    assert 0 < u.low <= u.high
    uncalibrated = p.calibration.startswith("not calibrated")
    assert uncalibrated == (u.basis == "class defaults")
    assert (u.rows == 0) == uncalibrated
    assert u.band != "own" or u.band_rows >= 5


def test_estimate_carries_the_band_and_basis(tiny: Report, tmp_path: Path) -> None:
    est = estimate(tiny, load_profile(path=write(tmp_path, TOY + RUNTIME + BAND)))
    assert est.latency_s is not None
    # The band is the latency times the profile's low and high factors.
    assert est.latency_band_s == (est.latency_s * 0.8, est.latency_s * 1.25)
    assert est.basis == "calibrated on 12 rows (6 networks)"
    doc = est.to_json()
    assert doc["latency_band_s"] == [est.latency_s * 0.8, est.latency_s * 1.25]
    assert doc["basis"]["basis"] == "calibrated" and doc["basis"]["rows"] == 12
    assert doc["runtime"] == {"framework": "tflite", "unit": "cpu", "mode": "latency"}


def test_estimate_without_a_band_says_so(tiny: Report, tmp_path: Path) -> None:
    est = estimate(tiny, load_profile(path=toy(tmp_path)))
    assert est.latency_band_s is None and "no calibration band" in est.basis
    doc = est.to_json()
    assert doc["latency_band_s"] is None and doc["basis"] is None and doc["runtime"] is None


def test_renderers_show_the_band(tiny: Report, tmp_path: Path) -> None:
    from convcalc.render import renderer

    est = estimate(tiny, load_profile(path=write(tmp_path, TOY + BAND)))
    for fmt in ("table", "markdown"):
        text = renderer(fmt).report(tiny, None, est)
        assert "typically" in text and "on this device" in text, fmt
        assert "calibrated on 12 rows (6 networks)" in text, fmt


# Single-layer networks of one cost class, growing in MACs (input 16x32x32):
#   conv     3x3 conv 16->c:          MACs 32*32*c*16*9
#   conv1x1  1x1 conv 16->c:          MACs 32*32*c*16
#   grouped  3x3 conv c->c, groups c: MACs 32*32*c*9 (input c channels)
#   linear   linear 256->c:           MACs 256*c
MONOTONE = {
    "conv": "{{op: conv, out: {c}, k: 3, padding: 1, bias: false}}",
    "conv1x1": "{{op: conv, out: {c}, k: 1, bias: false}}",
    "grouped": "{{op: conv, out: {c}, k: 3, padding: 1, groups: {c}, bias: false}}",
    "linear": "{{op: linear, out: {c}}}",
}


@pytest.fixture(scope="module")
def one_layer_nets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Report]]:
    out: dict[str, list[Report]] = {}
    folder = tmp_path_factory.mktemp("monotone")
    for cls, layer in MONOTONE.items():
        reports = []
        for c in (16, 32, 64, 128, 256):
            shape = "[256]" if cls == "linear" else f"[{c if cls == 'grouped' else 16}, 32, 32]"
            text = (
                f"convcalc: 1\nname: {cls}_{c}\ninput: {shape}\nlayers:\n  - {layer.format(c=c)}\n"
            )
            path = folder / f"{cls}_{c}.yaml"
            path.write_text(text)
            reports.append(api.analyze(path))
        out[cls] = reports
    return out


def test_estimates_are_monotone_in_macs_within_a_cost_class(
    one_layer_nets: dict[str, list[Report]],
) -> None:
    from convcalc.layers.base import CONV, CONV1X1, GROUPED, LINEAR

    assert set(MONOTONE) == {CONV, CONV1X1, GROUPED, LINEAR}
    bad = []
    for profile in list_profiles():
        if not profile.has_hardware:
            continue
        for cls, reports in one_layer_nets.items():
            assert all(r.layers[0].cost_class == cls for r in reports), cls
            macs = [int(r.totals.macs) for r in reports]
            assert macs == sorted(macs) and len(set(macs)) == len(macs)
            times = [estimate(r, profile).latency_s or 0.0 for r in reports]
            if times != sorted(times):
                bad.append(f"{profile.name} {cls}: {times}")
    assert not bad, "\n".join(bad)
