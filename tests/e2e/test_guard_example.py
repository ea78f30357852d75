"""examples/guard_login.py, the README's "Integrating the guard in 20 lines", run against a real
registry served by uvicorn, as a platform would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.live_registry import KEPT, RECYCLED, Registry, registry

__all__ = ["registry"]  # the fixture, served once for this module

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "guard_login.py"


def login(registry: Registry, *args: str) -> str:
    client_id, secret = registry.client
    env = {
        **os.environ,
        "NUMGUARD_REGISTRY_URL": registry.url,
        "NUMGUARD_CLIENT_ID": client_id,
        "NUMGUARD_CLIENT_SECRET": secret,
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_example_is_twenty_lines_of_integration() -> None:
    code = EXAMPLE.read_text(encoding="utf-8")
    body = code[code.index("env = os.environ") : code.index('if __name__ == "__main__":')]
    assert len([line for line in body.splitlines() if line.strip()]) <= 20


def test_the_readme_shows_the_example_as_it_is() -> None:
    code = EXAMPLE.read_text(encoding="utf-8")
    shown = code[code.index("import os") :]
    assert f"```python\n{shown}```" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_current_holder_logs_in_to_their_own_account(registry: Registry) -> None:
    assert login(registry, RECYCLED, "2024-07-01", "FINANCIAL") == "welcome"
    assert login(registry, KEPT, "2023-03-01", "SOCIAL") == "welcome"


@pytest.mark.parametrize(
    ("factors", "expected"),
    [
        (["TOTP"], "confirm with TOTP: BOUND_BEFORE_CURRENT_TENURE: the number changed holder"),
        ([], "refused: BOUND_BEFORE_CURRENT_TENURE: the number changed holder"),
    ],
)
def test_the_new_holder_of_a_recycled_number_is_stepped_up_or_refused(
    registry: Registry, factors: list[str], expected: str
) -> None:
    assert login(registry, RECYCLED, "2023-05-01", "FINANCIAL", *factors).startswith(expected)
