"""The `[minecraft]` table with its two sub-tables, as discord-bot-rs reads it, plus the warnings it gives.

As there: `verify` defaults to true, `donator_sync` and `chargeback` to false; a sub-feature switched on
without its `[minecraft.*_config]` table is a warning and stays off. Unlike there, an ID that is not a
Discord ID is an error in `check` rather than a failure at the first sync, and an empty `staff_roles` (nobody
may press Ban or Dismiss) is a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from supervisor.sdk import Setting, int_range, snowflake, validate_table

Issues = list[tuple[str, str]]


def _role_list(value: Any) -> str | None:
    for item in value:
        problem = snowflake(item)
        if problem:
            return problem
    return None


SWITCHES: Mapping[str, Setting] = {
    "verify": Setting(bool, True, doc="the `verify <code>` command"),
    "donator_sync": Setting(bool, False, doc="keep the supporter and premium roles in step with the plugin's list"),
    "chargeback": Setting(bool, False, doc="the chargeback webhook and its staff alert"),
}
DONATOR_SYNC: Mapping[str, Setting] = {
    "supporter_role": Setting(str, required=True, rule=snowflake, doc="role of the supporter tier (ID)"),
    "premium_role": Setting(str, required=True, rule=snowflake, doc="role of the premium tier (ID)"),
    "check_interval": Setting(int, 300, rule=int_range(10, 86400), doc="seconds between syncs"),
}
CHARGEBACK: Mapping[str, Setting] = {
    "staff_channel": Setting(str, required=True, rule=snowflake, doc="channel the alert is posted to (ID)"),
    "restricted_role": Setting(str, required=True, rule=snowflake,
                               doc="the only role a charged-back member keeps (ID)"),
    "staff_roles": Setting(list, [], rule=_role_list, doc="roles whose members may press Ban or Dismiss (IDs)"),
}
SUBTABLES = {"donator_sync_config": DONATOR_SYNC, "chargeback_config": CHARGEBACK}


def validate_minecraft_table(raw: Any) -> tuple[Mapping[str, Any], Issues, Issues]:
    """(values, errors, warnings). values["configured"] is False when config.toml has no [minecraft]: the
    feature, if switched on, stays off with a warning (as in discord-bot-rs)."""
    errors: Issues = []
    warnings: Issues = []
    if raw is None:
        values, _ = validate_table({}, SWITCHES)
        return {**values, "configured": False, "donator_sync_config": None, "chargeback_config": None}, [], []
    if not isinstance(raw, dict):
        return {"configured": False}, [("", "[minecraft] must be a table")], []
    flat = {key: value for key, value in raw.items() if key not in SUBTABLES}
    values, problems = validate_table(flat, SWITCHES)
    errors += problems
    result: dict[str, Any] = {**values, "configured": True}
    for name, schema in SUBTABLES.items():
        switch = name.removesuffix("_config")
        table = raw.get(name)
        if table is None:
            result[name] = None
            if values.get(switch):
                warnings.append((switch, f"is on but [minecraft.{name}] is missing: {switch} stays off"))
            continue
        if not isinstance(table, dict):
            errors.append((name, f"[minecraft.{name}] must be a table"))
            continue
        sub, problems = validate_table(table, schema)
        errors += [(f"{name}.{key}", message) for key, message in problems]
        result[name] = sub
    chargeback = result.get("chargeback_config")
    if values.get("chargeback") and chargeback is not None and not chargeback.get("staff_roles"):
        warnings.append(("chargeback_config.staff_roles", "is empty: nobody can press Ban or Dismiss on a "
                                                          "chargeback alert; list the staff role IDs"))
    return result, errors, warnings


def minecraft_env_warnings(values: Mapping[str, Any], secrets: Mapping[str, str]) -> Issues:
    """What `.env` lacks for the sub-features switched on (only when [minecraft] is there)."""
    if not values.get("configured"):
        return []
    wanted = [name for name in ("verify", "donator_sync", "chargeback")
              if values.get(name) and (name == "verify" or values.get(f"{name}_config") is not None)]
    missing = [key for key in ("MC_VERIFY_URL", "MC_VERIFY_SECRET") if not secrets.get(key)]
    if not wanted or not missing:
        return []
    return [(name, f"needs {' and '.join(missing)} in .env; without it "
                   + ("the command answers that it is not configured" if name == "verify" else "it does not run"))
            for name in wanted]
