"""Buttons in the sandbox: a message's buttons shown as `[1 Confirm] [2 Cancel]`, and `/press N` to press one."""

from __future__ import annotations

from collections.abc import Callable

from supervisor.emulator import Emulator, Message
from supervisor.emulator.components import LINK_STYLE, buttons

NO_ANSWER = "(the bot did not answer the press: Discord would show \"This interaction failed\")"


def button_row(message: Message) -> str | None:
    """`[1 Confirm] [2 Cancel]`, numbered as /press counts; disabled and link buttons say so."""
    shown = []
    for number, button in enumerate(buttons(message.components), start=1):
        label = button.get("label") or (button.get("emoji") or {}).get("name") or button.get("custom_id") or "?"
        if button.get("style") == LINK_STYLE:
            label += f" -> {button.get('url')}"
        if button.get("disabled"):
            label += " (disabled)"
        shown.append(f"[{number} {label}]")
    return " ".join(shown) or None


def decorate(rendered: str, message: Message, name_of: Callable[[int], str]) -> str:
    """A rendered message plus its buttons, and who alone can see it if it is ephemeral."""
    lines = [rendered]
    if message.visible_to is not None:
        lines[0] = f"{rendered}  (only {name_of(message.visible_to)} can see this)"
    row = button_row(message)
    if row:
        pressable = any(not b.get("disabled") and b.get("style") != LINK_STYLE for b in buttons(message.components))
        lines.append(f"    {row}   (/press N)" if pressable else f"    {row}")
    return "\n".join(lines)


def latest_with_buttons(emu: Emulator, channel_id: int, viewer_id: int) -> Message | None:
    """The newest bot message in the channel with buttons that `viewer_id` can see (ephemeral ones included)."""
    candidates = [m for m in emu.messages(channel_id) if emu.state.users[m.author_id].bot]
    candidates += [m for m in emu.ephemeral_messages(viewer_id) if m.channel_id == channel_id]
    with_buttons = [m for m in candidates if any(True for _ in buttons(m.components))]
    return max(with_buttons, key=lambda m: m.id, default=None)


async def press(emu: Emulator, channel_id: int, viewer_id: int, argument: str) -> str | None:
    """Press button N of the latest message with buttons; a line to show if something went wrong."""
    if not argument.isdigit():
        return "Usage: /press N (the number shown before a button's label)"
    message = latest_with_buttons(emu, channel_id, viewer_id)
    if message is None:
        return "No bot message with buttons in this channel."
    try:
        interaction = await emu.press_button(message, viewer_id, int(argument))
    except (ValueError, LookupError) as error:
        return f"Cannot press: {error}"
    return NO_ANSWER if interaction.failed else None
