"""`warden` as an admin runs it: a child process (`python -m bot ...`)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path


async def warden(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    """Run `warden *args`; (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
