"""Hostile input never gets a traceback: one line and exit 2 for input, a finding for the machine.

Property tests (hypothesis, derandomized and bounded) over the commands' options, config.json,
--prices / --cards YAML, snapshots and the worker's output, and the regressions of each defect a
fuzz pass found (issue 15).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.errors import AdvisorError
from advisor.probe.target import parse_worker_output
from advisor.probe.worker._advisor_wire import MARK
from tests.conftest import Cli

BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
EXIT_CODES = {0, 1, 2, 130}


def assert_clean(result: Any, *, json_out: bool = False) -> None:
    """The CLI contract under any input: no traceback, a known exit code, one line on exit 2."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in EXIT_CODES, result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2 and not json_out:
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("advisor: error: "), result.output


junk = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
)
CONFIG_KEYS = [
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "vocab_size",
    "head_dim",
    "max_position_embeddings",
    "sliding_window",
    "tie_word_embeddings",
    "hidden_act",
    "attention_dropout",
    "num_local_experts",
    "num_experts_per_tok",
    "architectures",
    "n_embd",
    "n_layer",
    "n_head",
    "d_model",
    "d_ff",
    "num_heads",
    "image_size",
    "patch_size",
    "num_labels",
]


@BOUNDED
@given(
    model_type=st.sampled_from(
        ["llama", "mistral", "mixtral", "qwen2", "gpt2", "bert", "vit", "t5", "bart", "x"]
    ),
    fields=st.dictionaries(st.sampled_from(CONFIG_KEYS), junk, max_size=8),
)
def test_any_config_json_is_an_estimate_or_one_line(
    model_type: str, fields: dict[str, Any], cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": model_type, **fields}, default=str))
    assert_clean(cli("estimate", str(path), "--task", "inference"))


@BOUNDED
@given(
    option=st.sampled_from(
        ["--batch", "--seq", "--gpus", "--lora-rank", "--mfu", "--prefill-chunk", "--target-seq"]
    ),
    value=st.one_of(st.integers(-(10**20), 10**20).map(str), st.floats().map(str), st.text(max_size=12)),
)
def test_any_estimate_option_value(option: str, value: str, cli: Cli) -> None:
    assert_clean(cli("estimate", "llama-2-7b", option, value))


@BOUNDED
@given(
    option=st.sampled_from(
        ["--budget", "--tokens", "--images", "--epochs", "--steps", "--max-gpus", "--host"]
    ),
    value=st.one_of(st.floats().map(str), st.integers(-(10**12), 10**12).map(str), st.text(max_size=12)),
)
def test_any_recommend_option_value(option: str, value: str, cli: Cli) -> None:
    model = "resnet-50" if option in ("--images", "--epochs") else "llama-2-7b"
    assert_clean(cli("recommend", model, option, value, "--no-here"))


yaml_scalar = st.one_of(
    st.integers(-5, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=10),
    st.sampled_from(["2025-13", "2025-02-30", "0000-00", "2025-01", "2025-1-1", "new", "used"]),
)


@BOUNDED
@given(
    entries=st.lists(
        st.dictionaries(
            st.sampled_from(["card", "condition", "usd", "date", "source", "confidence", "basis"]),
            yaml_scalar,
            max_size=7,
        ),
        max_size=3,
    ),
    version=st.sampled_from([None, 1, "1", 2, "x"]),
)
def test_any_prices_file(entries: list[dict[str, Any]], version: Any, cli: Cli, tmp_path: Path) -> None:
    import yaml

    doc: dict[str, Any] = {"street": entries}
    if version is not None:
        doc["schema_version"] = version
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert_clean(cli("recommend", "gpt2", "--prices", str(path), "--no-here"))


@BOUNDED
@given(
    fields=st.dictionaries(
        st.sampled_from(["name", "memory_gib", "fp32_tflops", "segment", "tdp_w"]), yaml_scalar
    )
)
def test_any_cards_file(fields: dict[str, Any], cli: Cli, tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "cards.yaml"
    path.write_text(yaml.safe_dump({"cards": [fields]}))
    assert_clean(cli("cards", "list", "--cards", str(path)))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@BOUNDED
@given(
    doc=st.dictionaries(
        st.sampled_from(["schema_version", "nvml", "host", "target", "taken_at"]), json_values
    )
)
def test_any_snapshot_file(doc: dict[str, Any], cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "box.json"
    path.write_text(json.dumps(doc))
    assert_clean(cli("check", "--snapshot", str(path)))


stage_records = st.dictionaries(
    st.sampled_from(["stage", "version", "device_count", "available", "arch_list", "cuda_version", "name"]),
    json_values,
    max_size=5,
)


@BOUNDED
@given(records=st.lists(stage_records, max_size=6), returncode=st.sampled_from([0, 1, -11, None]))
def test_any_worker_output_is_a_status_never_an_exception(
    records: list[dict[str, Any]], returncode: int | None
) -> None:
    stdout = "\n".join(MARK + json.dumps(r) for r in records)
    result = parse_worker_output("/usr/bin/python3", stdout, "", returncode)
    assert result.status in ("ok", "garbage", "failed", "crashed", "timeout")


# --- the regressions, one per defect ------------------------------------------------------------


def one_line(cli: Cli, *args: str) -> str:
    result = cli(*args)
    assert_clean(result)
    assert result.exit_code == 2, result.output
    return result.output.strip()


def test_worker_output_of_the_wrong_types_is_garbage() -> None:
    torch = {"stage": "torch", "version": "2.4.1+cu121"}
    for records in (
        [{"stage": "torch", "version": 2.4}],
        [{"stage": ["torch"]}],
        [torch, {"stage": "cuda", "device_count": "two"}],
        [torch, {"stage": "cuda", "available": True}, {"stage": "device", "memory": {"x": 1}}],
    ):
        out = "\n".join(MARK + json.dumps(r) for r in ({"stage": "start"}, *records, {"stage": "done"}))
        assert parse_worker_output("/usr/bin/python3", out, "", 0).status == "garbage", records
    deep = MARK + "[" * 100_000 + "]" * 100_000
    assert parse_worker_output("/usr/bin/python3", deep, "", 0).status == "garbage"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"num_hidden_layers": 10**12}, "num_layers"),
        ({"hidden_size": 10**9}, "hidden_size"),
        ({"vocab_size": 10**15}, "vocab_size"),
        ({"num_attention_heads": 128}, "do not divide the hidden size"),
        ({"num_key_value_heads": 3}, "key/value heads do not divide"),
    ],
)
def test_absurd_config_values_are_one_line(
    config: dict[str, Any], words: str, cli: Cli, tmp_path: Path
) -> None:
    base = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2}
    base |= {"num_attention_heads": 4, "vocab_size": 100}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**base, **config}))
    assert words in one_line(cli, "estimate", str(path))


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("[" * 100_000 + "]" * 100_000, "not a config.json advisor can read"),
        ('{"n_embd": ' + "9" * 5000 + "}", "digits"),
    ],
)
def test_json_too_deep_or_too_long_is_one_line(raw: str, words: str, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(raw)
    assert words in one_line(cli, "estimate", str(path))
    snapshot = tmp_path / "box.json"
    snapshot.write_text(raw)
    one_line(cli, "check", "--snapshot", str(snapshot))


@pytest.mark.parametrize("model", ["x" * 5000, "~nouser/config.json", "~nouser"])
def test_impossible_model_paths_are_one_line(model: str, cli: Cli) -> None:
    assert "model" in one_line(cli, "estimate", model)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "street:\n- {card: x, condition: new, usd: 1, date: '2025-13', source: s}\n",
            "'2025-13' is not a date",
        ),
        ("street:\n- {card: x, condition: new, usd: 1, date: '2025-02-30', source: s}\n", "is not a date"),
        ("street:\n- {card: x, condition: new, usd: 1, date: '0000-00', source: s}\n", "is not a date"),
        ("{1: 2}\n", "a key must be text"),
        ("street: []\nstreet: []\n", "'street' is given twice"),
        ("schema_version: '1'\nstreet: []\n", "schema_version must be a number"),
        ("street:\n- {card: x, condition: new, usd: .nan, date: '2025-01', source: s}\n", "finite number"),
    ],
)
def test_bad_prices_files_name_the_file_and_entry(text: str, words: str, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    line = one_line(cli, "recommend", "gpt2", "--prices", str(path), "--no-here")
    assert str(path) in line and words in line


@pytest.mark.parametrize(
    "args",
    [
        ["recommend", "llama-2-7b", "--budget", "nan", "--no-here"],
        ["recommend", "llama-2-7b", "--budget", "inf", "--no-here"],
        ["recommend", "resnet-50", "--epochs", "nan", "--no-here"],
        ["cards", "list", "--min-memory", "nan"],
        ["estimate", "llama-2-7b", "--mfu", "nan"],
    ],
)
def test_nan_and_infinity_are_refused(args: list[str], cli: Cli) -> None:
    assert "must be a number" in one_line(cli, *args)


def test_unexpected_errors_are_one_line_and_debug_shows_them() -> None:
    """A bug (here: the estimate made to divide by zero) is one line; --debug shows the traceback."""
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv=['advisor','estimate','gpt2'];"
            "import advisor.estimate.report as r; r.estimate = lambda *a, **k: 1/0;"
            "from advisor.cli import main; main()",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line == (
        "advisor: error: internal error (ZeroDivisionError: division by zero); rerun with --debug "
        "for the traceback"
    )
    debug = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv=['advisor','estimate','gpt2','--debug'];"
            "import advisor.estimate.report as r; r.estimate = lambda *a, **k: 1/0;"
            "from advisor.cli import main; main()",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" in debug.stderr and "ZeroDivisionError" in debug.stderr


def test_a_finite_guard_is_what_it_says() -> None:
    from advisor.cli.app import finite

    assert finite("--x", 1.5) == 1.5 and finite("--x", None) is None
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(AdvisorError):
            finite("--x", bad)


@pytest.mark.parametrize(
    "version", ["not-a-version", "2.3.0'; touch /tmp/advisor-pwned #", "2.13.0+cu130.custom build", ""]
)
def test_a_hostile_torch_version_is_kept_and_never_pasted_into_a_command(
    version: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copy
    import shlex

    from tests.machines import install_machine, load_machine

    machine = copy.deepcopy(load_machine("geforce_unsupported"))
    machine["torch"]["version"] = version
    install_machine(machine, tmp_path, monkeypatch)
    result = cli("check", "--json")
    assert_clean(result, json_out=True)
    doc = json.loads(result.stdout)["result"]
    if version:
        assert doc["snapshot"]["target"]["torch"]["version"] == version  # kept as it was
    for finding in doc["findings"]:
        fix = finding.get("fix") or ""
        if "touch /tmp/advisor-pwned" in fix:  # only ever inside one shell word
            assert shlex.quote(f"torch=={version}") in fix or shlex.quote(version) in fix, fix


def test_an_unparsable_torch_version_is_said(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copy

    from tests.machines import install_machine, load_machine

    machine = copy.deepcopy(load_machine("healthy_rtx3090"))
    machine["torch"]["version"] = "not-a-version"
    install_machine(machine, tmp_path, monkeypatch)
    found = {f["id"]: f["severity"] for f in cli.json("check")["result"]["findings"]}
    assert found["torch-version-unparsed"] == "info"
