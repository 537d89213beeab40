"""English and French: Babel catalogues compiled in memory at startup, chosen per request.

The catalogue is `locale/<lang>/LC_MESSAGES/messages.po` in this package; English is the source
language. Compiling the .po when the process starts means a clean clone needs no extra step.
Refresh the catalogue after changing texts with:

    pybabel extract -F services/portal/babel.cfg -o /tmp/portal.pot services/portal
    pybabel update -i /tmp/portal.pot -d services/portal/locale
"""

from __future__ import annotations

import contextvars
import io
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "fr")
DEFAULT = "en"
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
LOCALE_DIR = Path(__file__).parent / "locale"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("portal_lang", default=DEFAULT)


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of a language (English: the source texts)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def negotiate(accept_language: str | None, chosen: str | None) -> str:
    """The page language: the user's choice (cookie), else Accept-Language, else English."""
    if chosen in LANGUAGES:
        return str(chosen)
    wanted: list[tuple[float, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            wanted.append((quality - i * 1e-6, tag.replace("-", "_")))
    preferred = [tag for _, tag in sorted(wanted, reverse=True)]
    found = Locale.negotiate(preferred, list(LANGUAGES), sep="_") if preferred else None
    return str(found.language) if found else DEFAULT


def set_language(lang: str) -> None:
    """Make `lang` the language of the current request."""
    _current.set(lang if lang in LANGUAGES else DEFAULT)


def language() -> str:
    """The current request's language."""
    return _current.get()


def gettext(message: str) -> str:
    """Translate into the current request's language."""
    return translations(language()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate with a plural form."""
    return translations(language()).ungettext(singular, plural, n)


_ = gettext


def when(value: datetime | str | None, tz: str = "Europe/Brussels") -> str:
    """A moment in the reader's language and the service's time zone."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return format_datetime(value.astimezone(ZoneInfo(tz)), "medium", locale=language())


def day(value: date | str | None) -> str:
    """A calendar day in the reader's language."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return format_date(value, "long", locale=language())
