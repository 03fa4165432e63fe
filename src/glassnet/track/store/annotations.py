"""What people write on runs and models afterwards: tags, a note, registry aliases.

Each is written at once (not through the buffered writer) in its own transaction, on a
running run as well as a finished one. Tags change by compare-and-set: the new list is
written only where the row still holds the list it was computed from, so two processes
tagging one run at once both get their tag (on SQLite and PostgreSQL alike, whatever
the isolation level). Moving an alias is one upsert of its ``(name, alias)`` row: the
version that held it loses it in the same statement.

:class:`Annotations` is a part of :class:`~glassnet.track.store.Store`.
"""

from __future__ import annotations

import json

from glassnet.track.errors import ConfigError, NotFoundError
from glassnet.track.store.records import to_json

MAX_TAG_CHARS = 200
MAX_NOTE_CHARS = 100_000
_TAG_RETRIES = 100


def check_tag(tag) -> str:
    """``tag`` if it is one a run may be given; ConfigError saying why not otherwise.

    A tag is 1 to 200 characters, without control characters or surrounding spaces,
    and does not start with ``+`` or ``-`` (``glassnet tag RUN +a -b`` reads those)."""
    if not isinstance(tag, str):
        raise ConfigError(f"a tag must be a string, got {type(tag).__name__} {tag!r}")
    if not tag or tag != tag.strip():
        raise ConfigError(f"a tag must be non-empty, without spaces around it, got {tag!r}")
    if len(tag) > MAX_TAG_CHARS:
        raise ConfigError(f"a tag may be at most {MAX_TAG_CHARS} characters, got {len(tag)}")
    if tag[0] in "+-":
        raise ConfigError(f"a tag may not start with '+' or '-' (they add and remove tags "
                          f"in `glassnet tag`), got {tag!r}")
    if any(ord(c) < 32 or ord(c) == 127 for c in tag):
        raise ConfigError(f"a tag may not hold control characters (newlines, tabs), "
                          f"got {tag!r}")
    return tag


def _tag_list(tags, what: str) -> list[str]:
    if isinstance(tags, str):
        return [tags]
    try:
        return list(tags)
    except TypeError:
        raise ConfigError(f"{what} must be a tag or a list of tags, got "
                          f"{type(tags).__name__}") from None


class Annotations:
    """Tags, notes and aliases (a part of Store)."""

    def tag_run(self, run_id: str, add=(), remove=()) -> list[str]:
        """Add the tags ``add`` and remove the tags ``remove`` (absent ones are ignored);
        return the run's tags after, in the order they were given.

        ``run_id`` may be a unique prefix. A tag is checked by :func:`check_tag`."""
        add = [check_tag(t) for t in _tag_list(add, "add")]
        remove = _tag_list(remove, "remove")
        both = sorted(set(add) & set(remove))
        if both:
            raise ConfigError(f"tags {both} are both added and removed; give each once")
        run_id = self.resolve_run_id(run_id)
        for _ in range(_TAG_RETRIES):
            (old,) = self._one_row("SELECT tags FROM runs WHERE id = ?", run_id)
            tags = [t for t in json.loads(old or "[]") if t not in remove]
            tags += [t for t in dict.fromkeys(add) if t not in tags]
            text = to_json(tags)
            if text == old:
                return tags
            with self.backend.transaction() as c:
                done = c.execute("UPDATE runs SET tags = ? WHERE id = ? AND tags = ?",
                                 (text, run_id, old)).rowcount
            if done:
                return tags
        raise ConfigError(f"run {run_id}: its tags kept changing under {_TAG_RETRIES} "
                          "attempts to change them; try again")

    def set_tags(self, run_id: str, tags) -> list[str]:
        """Replace the run's tags with ``tags`` (each checked); return them."""
        tags = list(dict.fromkeys(check_tag(t) for t in _tag_list(tags, "tags")))
        run_id = self.resolve_run_id(run_id)
        with self.backend.transaction() as c:
            c.execute("UPDATE runs SET tags = ? WHERE id = ?", (to_json(tags), run_id))
        return tags

    def set_note(self, run_id: str, note: str) -> str:
        """Write the run's note (markdown text; ``""`` clears it); return it."""
        if not isinstance(note, str):
            raise ConfigError(f"a note must be text (a str), got {type(note).__name__}")
        if len(note) > MAX_NOTE_CHARS:
            raise ConfigError(f"a note may be at most {MAX_NOTE_CHARS} characters, "
                              f"got {len(note)}")
        if "\x00" in note:
            raise ConfigError("a note may not hold NUL characters (\\x00)")
        run_id = self.resolve_run_id(run_id)
        with self.backend.transaction() as c:
            c.execute("UPDATE runs SET note = ? WHERE id = ?", (note, run_id))
        return note

    def _one_row(self, sql: str, run_id: str) -> tuple:
        rows = self._read(sql, (run_id,))
        if not rows:  # deleted between resolving the id and reading it
            raise NotFoundError(f"no run with id {run_id!r} in store {self.root}")
        return rows[0]

    # -- registry aliases ------------------------------------------------------------
    def set_model_alias(self, name: str, version, alias: str) -> int:
        """Point ``alias`` of model ``name`` at ``version`` (``3`` or ``"v3"``), which
        must exist; the version holding the alias before loses it. Return the version."""
        check_alias(alias)
        number = version_number(version)
        with self.backend.transaction() as c:
            if not c.execute("SELECT 1 FROM models WHERE name = ? AND version = ?",
                             (name, number)).fetchone():
                known = [r[0] for r in c.execute(
                    "SELECT version FROM models WHERE name = ? ORDER BY version",
                    (name,)).fetchall()]
                if not known:
                    raise NotFoundError(f"no model named {name!r} in the registry of "
                                        f"{self.root} (`glassnet models` lists them)")
                raise NotFoundError(f"model {name!r} has no version v{number}; versions: "
                                    f"{', '.join(f'v{v}' for v in known)}")
            c.execute(self._inserts["model_aliases"], (name, alias, number))
        return number

    def remove_model_alias(self, name: str, alias: str) -> int:
        """Take ``alias`` away from model ``name``; return the version that held it."""
        with self.backend.transaction() as c:
            row = c.execute("SELECT version FROM model_aliases WHERE name = ? AND alias = ?",
                            (name, alias)).fetchone()
            if row is None:
                raise NotFoundError(f"model {name!r} has no alias {alias!r}")
            c.execute("DELETE FROM model_aliases WHERE name = ? AND alias = ?", (name, alias))
        return row[0]


def check_alias(alias) -> str:
    """An alias is a word that does not read as a version number (``v3``, ``3``)."""
    if not isinstance(alias, str) or not alias or alias != alias.strip() or ":" in alias:
        raise ConfigError(f"an alias must be a non-empty word without ':' or spaces around "
                          f"it, got {alias!r}")
    if (alias[:1] in "vV" and alias[1:].isdigit()) or alias.isdigit():
        raise ConfigError(f"alias {alias!r} would read as a version number; choose a word")
    return alias


def version_number(version) -> int:
    """``3``, ``"3"``, ``"v3"`` -> 3; ConfigError for anything else."""
    if isinstance(version, str):
        text = version[1:] if version[:1] in "vV" else version
        if text.isdigit():
            return int(text)
    elif isinstance(version, int) and not isinstance(version, bool) and version > 0:
        return version
    raise ConfigError(f"a model version is a number such as 3 or 'v3', got {version!r}")
