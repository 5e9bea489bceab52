"""The wheel ships the scenario files, so an installed (non-editable) package finds them."""
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_every_scenario(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("optsandbox-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.split("optsandbox/_problems/", 1)[1] for n in names if n.startswith("optsandbox/_problems/")}
    expected = {str(p.relative_to(ROOT / "problems")) for p in (ROOT / "problems").rglob("*.toml")}
    assert expected and expected <= shipped
    assert "optsandbox/cli.py" in names and "optsandbox/classification/kernels.py" in names
