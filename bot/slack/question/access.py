"""Who may ask the bot where: a pure decision from the settings' allowlists."""

from __future__ import annotations

from bot.settings import Settings


def refusal(settings: Settings, *, channel: str, user: str, in_dm: bool) -> str | None:
    """The [access] message key when this person may not ask here, else None.

    Empty lists mean everyone and everywhere (the default: today's behaviour).
    """
    if in_dm and not settings.allow_dms:
        return "dm"
    if not in_dm and settings.allowed_channels and channel not in settings.allowed_channels:
        return "channel"
    if settings.allowed_users and user not in settings.allowed_users:
        return "user"
    return None
