"""Message components (action rows of buttons, select menus): Discord's shape rules and button lookup."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .errors import FormErrors

ACTION_ROW = 1
BUTTON = 2
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})  # string, user, role, mentionable, channel selects

LINK_STYLE = 5
PREMIUM_STYLE = 6
BUTTON_STYLES = frozenset({1, 2, 3, 4, LINK_STYLE, PREMIUM_STYLE})

MAX_ROWS = 5
MAX_PER_ROW = 5
MAX_CUSTOM_ID = 100
MAX_LABEL = 80
MAX_URL = 512
MAX_SELECT_OPTIONS = 25

# Components v2 (layout components) need this message flag; the emulator does not model them.
IS_COMPONENTS_V2 = 1 << 15

Path = tuple[str | int, ...]


def check_components(components: Any, errors: FormErrors, flags: int = 0) -> None:
    """Collect 50035 field errors for a message's `components`, as Discord validates them."""
    if components is None:
        return
    path: Path = ("components",)
    if not isinstance(components, list):
        errors.add(path, "BASE_TYPE_ARRAY", "Must be an array.")
        return
    if flags & IS_COMPONENTS_V2:
        errors.add(path, "EMULATOR_UNSUPPORTED", "Components v2 (IS_COMPONENTS_V2) are not modelled by the emulator.")
        return
    if len(components) > MAX_ROWS:
        errors.max_length(path, MAX_ROWS)
    custom_ids: set[str] = set()
    for i, row in enumerate(components):
        _check_row(row, (*path, i), errors, custom_ids)


def _check_row(row: Any, path: Path, errors: FormErrors, custom_ids: set[str]) -> None:
    if not isinstance(row, dict) or row.get("type") != ACTION_ROW:
        errors.add((*path, "type"), "UNION_TYPE_CHOICES", "Top-level components must be action rows (type 1).")
        return
    children = row.get("components")
    if not isinstance(children, list) or not children:
        errors.add((*path, "components"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
        return
    if len(children) > MAX_PER_ROW:
        errors.max_length((*path, "components"), MAX_PER_ROW)
    kinds = {c.get("type") for c in children if isinstance(c, dict)}
    if kinds & SELECT_TYPES and len(children) > 1:
        errors.add((*path, "components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                   "A select menu must be alone in its action row.")
    for j, child in enumerate(children):
        child_path = (*path, "components", j)
        if not isinstance(child, dict):
            errors.add(child_path, "BASE_TYPE_OBJECT", "Must be an object.")
        elif child.get("type") == BUTTON:
            _check_button(child, child_path, errors, custom_ids)
        elif child.get("type") in SELECT_TYPES:
            _check_select(child, child_path, errors, custom_ids)
        else:
            allowed = ", ".join(map(str, [BUTTON, *sorted(SELECT_TYPES)]))
            errors.add((*child_path, "type"), "UNION_TYPE_CHOICES", f"Value must be one of ({allowed}).")


def _check_custom_id(component: dict[str, Any], path: Path, errors: FormErrors, custom_ids: set[str]) -> None:
    custom_id = component.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        errors.required((*path, "custom_id"))
        return
    if len(custom_id) > MAX_CUSTOM_ID:
        errors.max_length((*path, "custom_id"), MAX_CUSTOM_ID)
    if custom_id in custom_ids:
        errors.add((*path, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
    custom_ids.add(custom_id)


def _check_button(button: dict[str, Any], path: Path, errors: FormErrors, custom_ids: set[str]) -> None:
    style = button.get("style")
    if style not in BUTTON_STYLES:
        errors.add((*path, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
        return
    label = button.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL):
        errors.max_length((*path, "label"), MAX_LABEL)
    if style == LINK_STYLE:
        url = button.get("url")
        if not isinstance(url, str) or not url:
            errors.required((*path, "url"))
        elif len(url) > MAX_URL:
            errors.max_length((*path, "url"), MAX_URL)
        if "custom_id" in button:
            errors.add((*path, "custom_id"), "BUTTON_COMPONENT_LINK_HAS_CUSTOM_ID",
                       "A link button cannot have a custom id.")
    elif style == PREMIUM_STYLE:
        if not button.get("sku_id"):
            errors.required((*path, "sku_id"))
    else:
        _check_custom_id(button, path, errors, custom_ids)
        if "url" in button:
            errors.add((*path, "url"), "BUTTON_COMPONENT_NON_LINK_HAS_URL", "Only link buttons can have a url.")
    if style != PREMIUM_STYLE and not label and not button.get("emoji"):
        errors.add((*path, "label"), "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED", "A button needs a label or an emoji.")


def _check_select(select: dict[str, Any], path: Path, errors: FormErrors, custom_ids: set[str]) -> None:
    _check_custom_id(select, path, errors, custom_ids)
    if select.get("type") == 3:
        options = select.get("options")
        if not isinstance(options, list) or not options:
            errors.add((*path, "options"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
        elif len(options) > MAX_SELECT_OPTIONS:
            errors.max_length((*path, "options"), MAX_SELECT_OPTIONS)


def buttons(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every button of a message, row by row, left to right."""
    for row in components:
        for child in row.get("components") or []:
            if child.get("type") == BUTTON:
                yield child


def find_button(components: list[dict[str, Any]], which: str | int) -> dict[str, Any]:
    """The button numbered `which` (1-based, as shown), else the one whose custom_id or label is `which`."""
    found = list(buttons(components))
    if isinstance(which, int):
        if 1 <= which <= len(found):
            return found[which - 1]
        raise LookupError(f"no button {which}: the message has {len(found)}")
    for button in found:
        if button.get("custom_id") == which:
            return button
    for button in found:
        if button.get("label") == which:
            return button
    labels = ", ".join(repr(b.get("label") or b.get("custom_id")) for b in found) or "none"
    raise LookupError(f"no button {which!r}; buttons: {labels}")
