"""src/rng/ziggurat_table.h is what scripts/gen_ziggurat.py writes, and its
layers are the ziggurat it claims: equal areas, closing at the top, with
the tail start R that Marsaglia & Tsang (2000) give for 256 layers."""
import math
import re
import subprocess
import sys

from conftest import ROOT

HEADER = ROOT / "src" / "rng" / "ziggurat_table.h"


def test_header_is_the_scripts_output():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_ziggurat.py")],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    assert out == HEADER.read_text(), "re-run: scripts/gen_ziggurat.py > src/rng/ziggurat_table.h"


def table(text, name):
    body = re.search(name + r"\[257\] = \{(.*?)\};", text, re.S).group(1)
    return [float.fromhex(v) for v in body.split(",") if v.strip()]


def test_layers_have_equal_areas_and_close():
    text = HEADER.read_text()
    x, f = table(text, "nm_zig_x"), table(text, "nm_zig_f")
    r = float.fromhex(re.search(r"#define NM_ZIG_R (\S+)", text).group(1))
    v = float.fromhex(re.search(r"#define NM_ZIG_V (\S+)", text).group(1))
    assert len(x) == len(f) == 257
    assert r == x[1] and x[256] == 0.0 and f[256] == 1.0
    assert abs(r - 3.6541528853610088) < 1e-15  # Marsaglia & Tsang's r
    assert all(a > b for a, b in zip(x, x[1:]))
    for xi, fi in zip(x[1:], f[1:]):
        assert math.isclose(fi, math.exp(-xi * xi / 2), rel_tol=1e-15)
    # layer 0: the rectangle [0, R] x [0, f(R)] and the tail, area v
    tail = math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2))
    assert math.isclose(r * f[1] + tail, v, rel_tol=1e-13)
    assert math.isclose(x[0] * f[1], v, rel_tol=1e-15)
    # layers 1..255: [0, x[i]] x [f(x[i]), f(x[i+1])], area v each
    for i in range(1, 256):
        assert math.isclose(x[i] * (f[i + 1] - f[i]), v, rel_tol=1e-12), i
