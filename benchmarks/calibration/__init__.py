"""The device-profile calibration behind benchmarks/calibrate.py, in four parts:

- :mod:`calibration.data`: the published latencies of benchmarks/devices.json, matched to
  bundled networks and profiles;
- :mod:`calibration.fit`: the efficiency factors and overheads fitted on them;
- :mod:`calibration.stats`: rank correlations, medians and error summaries of the result;
- :mod:`calibration.document`: what the run writes, docs/devices.md and the calibrated
  blocks of the profile files.

benchmarks/ is not a package on the import path: calibrate.py puts its own directory there,
so these modules import as ``calibration.*`` however the script is started.
"""
