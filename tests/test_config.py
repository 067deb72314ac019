import subprocess
import sys

import pytest
import yaml

from integrating import config, paths
from integrating.errors import ConfigError


def test_shipped_config_is_valid():
    cfg = config.load()
    assert cfg["implementation_threshold"] == 0.5


def test_every_key_is_commented_and_in_the_schema():
    schema = config.load_schema()
    text = paths.CONFIG.read_text()
    keys = yaml.safe_load(text).keys()
    assert set(keys) == set(schema["properties"]) == set(schema["required"])
    for line in text.splitlines():
        if line and not line.startswith((" ", "#")) and ":" in line:
            assert "#" in line, f"config key without a comment: {line}"


@pytest.mark.parametrize(
    "override, message",
    [
        ({"implementation_treshold": 0.6}, "unknown key 'implementation_treshold'"),
        ({"implementation_threshold": 1.5}, "key 'implementation_threshold' has value 1.5; expected a number between 0 and 1"),
        ({"implementation_threshold": "high"}, "key 'implementation_threshold' has value 'high'"),
        ({"segmentation_rule": "tertiles"}, "expected one of share, median, count"),
        ({"show_excerpts": "yes"}, "key 'show_excerpts' has value 'yes'; expected true, false or auto"),
        ({"threshold_grid": [0.2, 2]}, "key 'threshold_grid.1' has value 2"),
    ],
)
def test_bad_values_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        config.load(overrides=override)


def test_pipeline_refuses_a_bad_override_before_running_anything(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "-s", str(paths.ROOT / "Snakefile"),
         "--directory", str(tmp_path), "--config", "implementation_threshold=1.5"],
        capture_output=True, text=True,
    )
    assert proc.returncode != 0
    assert "implementation_threshold" in proc.stdout + proc.stderr
    assert "between 0 and 1" in proc.stdout + proc.stderr


def test_excerpts_are_shown_for_synthetic_data_and_hidden_for_real_data_unless_set():
    assert config.excerpts_shown("auto", True)[0] is True
    shown, why = config.excerpts_shown("auto", False)
    assert shown is False and "not marked synthetic" in why
    assert config.excerpts_shown(True, False) == (True, "show_excerpts is true")
    assert config.excerpts_shown(False, True)[0] is False
