"""Device profiles and latency/memory estimates (DESIGN.md section 5).

    from convcalc import api
    from convcalc.devices import estimate, load_profile

    report = api.analyze("mobilenet_v2", {"alpha": 0.5, "rho": "0.714"})
    est = estimate(report, load_profile("cortex-a76-sd855"))
    est.latency_s, est.passed, est.to_json()

Profiles are YAML data (``profiles/``, one file per device), validated on load; the
estimate is a per-layer roofline with fitted efficiency factors (see docs/devices.md).
"""

from convcalc.devices.estimate import DeviceEstimate, LayerTime, Verdict, estimate
from convcalc.devices.profile import Budget, DeviceProfile, DeviceProfileError
from convcalc.devices.search import list_profiles, load_profile, parse_profile, profile_names

__all__ = [
    "Budget",
    "DeviceEstimate",
    "DeviceProfile",
    "DeviceProfileError",
    "LayerTime",
    "Verdict",
    "estimate",
    "list_profiles",
    "load_profile",
    "parse_profile",
    "profile_names",
]
