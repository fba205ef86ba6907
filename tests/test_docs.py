"""The documentation stays true to the code."""

import re
from pathlib import Path

from stepmail_plugin.conf import DEFAULTS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented_with_its_default():
    text = (DOCS / "settings.md").read_text()
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| (.+?) \|", text, re.M))
    assert set(rows) == set(DEFAULTS), "docs/settings.md lists exactly the keys of conf.DEFAULTS"
    for key, default in DEFAULTS.items():
        documented = rows[key].strip("`")
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            assert documented == str(default), key
        elif default is None:
            assert documented == "None", key
        elif isinstance(default, bool):
            assert documented == str(default), key
        elif isinstance(default, str):
            assert documented == f'"{default}"', key
