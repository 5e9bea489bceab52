"""Saving and loading results: round trip, non-finite values, atomic writes, the tidy CSV."""
import json

import numpy as np

from optsandbox.api import Theory
from optsandbox.trace import Trace, atomic_write, load_traces, new_results_dir, save_trace, traces_csv


def make_trace(seed=0):
    return Trace(scenario="s", family="classification", algorithm_id="a", algorithm="lr_gd",
                 params={"gamma": 1.0}, problem="p", problem_params={"n": 3}, seed_index=seed, sweep_value=None,
                 columns={"iteration": np.array([0.0, 1.0, 2.0]), "loss": np.array([0.5, np.nan, np.inf])},
                 events={"iterations_to_separation": -1.0}, status=2, stop_iteration=2,
                 theory={"loss": Theory("power", -1.0, False, "gamma too large")},
                 reference={"mu": 0.5}, wall_time=0.1)


def test_round_trip_preserves_everything_including_nan_and_inf(tmp_path):
    results = new_results_dir(tmp_path, "s")
    original = make_trace()
    save_trace(results, original)
    (loaded,) = load_traces(results)
    np.testing.assert_array_equal(loaded.columns["loss"], original.columns["loss"])
    assert loaded.theory == original.theory and loaded.events == original.events
    assert loaded.status_name == "diverged" and loaded.params == {"gamma": 1.0}
    # the file is strict JSON (no NaN tokens)
    text = (results / "runs" / f"{original.key}.json").read_text()
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "x.json"
    atomic_write(target, "complete")

    try:
        atomic_write(target, object())  # write fails mid-way
    except TypeError:
        pass
    assert target.read_text() == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_csv_is_one_tidy_table():
    csv = traces_csv([make_trace(0), make_trace(1)])
    lines = csv.strip().splitlines()
    assert lines[0].split(",")[:6] == ["scenario", "algorithm_id", "algorithm", "seed", "sweep_value", "status"]
    assert len(lines) == 1 + 2 * 3
