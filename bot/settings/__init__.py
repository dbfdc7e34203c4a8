"""Settings: one YAML file, validated once, every problem reported at once.

``load_settings(path, environ)`` returns a frozen :class:`Settings` or raises ConfigError
listing one ``key: problem`` line per problem (models.py says what each key may be, load.py
reads the file). The Discord token comes only from the environment and is never shown.
"""

from bot.settings.load import DEFAULT_CONFIG_PATH, load_settings, settings_from_mapping
from bot.settings.models import (
    TOKEN_ENV,
    DatabaseSettings,
    DiscordSettings,
    HttpSettings,
    IngestSettings,
    LoggingSettings,
    ModerationSettings,
    PublishingSettings,
    Settings,
)
from bot.settings.sources import FetchSettings, SourceSettings

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "TOKEN_ENV",
    "DatabaseSettings",
    "DiscordSettings",
    "FetchSettings",
    "HttpSettings",
    "IngestSettings",
    "LoggingSettings",
    "ModerationSettings",
    "PublishingSettings",
    "Settings",
    "SourceSettings",
    "load_settings",
    "settings_from_mapping",
]
