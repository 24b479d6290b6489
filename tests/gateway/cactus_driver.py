"""Run one cactus-client server procedure against a gridmirror gateway, non-interactively.

Run by cactus-client's own interpreter (Python 3.12, its venv), not by pytest::

    python cactus_driver.py -c .cactus.yaml S-ALL-06 client

It registers an admin plugin (cactus-client's pluggy hook ``admin_instruction``) that
carries out the procedure's admin instructions the way an operator of gridmirror would,
with ``gridmirror gateway ...`` commands (their command line is in GM_GRIDMIRROR, a JSON
list), then runs ``cactus run --headless --allow-skips``:

- ``ensure-end-device``: ``register-device --lfdi <client LFDI> --pin <client PIN>`` or
  ``unregister-device``; if the step also wants a DER list (``has_der_list``), the device is
  registered and the step is skipped: gridmirror serves no DER function set;
- ``ensure-mup-list-empty``: ``delete-mirrors``;
- ``set-post-rate`` (MirrorUsagePoint): ``set-post-rate --seconds N``;
- anything else (DER controls, client access): the step is skipped, with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from cactus_client.admin import get_plugin_manager, hookimpl
from cactus_client.cli.main import cli_entrypoint
from cactus_client.model.execution import ActionResult

GRIDMIRROR: list[str] = json.loads(os.environ["GM_GRIDMIRROR"])


def gridmirror(*args: str) -> None:
    done = subprocess.run([*GRIDMIRROR, "gateway", *args], capture_output=True, text=True)
    print(
        f"[gridmirror {' '.join(args)}] {done.stdout.strip()} {done.stderr.strip()}",
        file=sys.stderr,
    )
    if done.returncode != 0:
        raise RuntimeError(f"gridmirror gateway {' '.join(args)} failed: {done.stderr.strip()}")


class GridmirrorAdmin:
    @hookimpl
    async def admin_instruction(
        self, instruction: Any, step: Any, context: Any
    ) -> ActionResult | None:
        client = context.client_config_for(instruction.client)
        params = instruction.parameters or {}
        kind = instruction.type
        if kind == "ensure-end-device":
            if params.get("registered", True):
                gridmirror("register-device", "--lfdi", client.lfdi, "--pin", str(client.pin))
            else:
                gridmirror("unregister-device", "--lfdi", client.lfdi)
            if params.get("has_der_list"):
                return ActionResult.skip_step("gridmirror serves no DER function set (DERList)")
            return ActionResult.done()
        if kind == "ensure-mup-list-empty":
            gridmirror("delete-mirrors", "--lfdi", client.lfdi)
            return ActionResult.done()
        if kind == "set-post-rate" and params.get("resource") == "MirrorUsagePoint":
            gridmirror(
                "set-post-rate", "--lfdi", client.lfdi, "--seconds", str(params["rate_seconds"])
            )
            return ActionResult.done()
        return ActionResult.skip_step(f"gridmirror has no {kind}: it serves no DER function set")


if __name__ == "__main__":
    get_plugin_manager().register(GridmirrorAdmin())
    sys.argv = ["cactus", "run", "--headless", "--allow-skips", *sys.argv[1:]]
    cli_entrypoint()
