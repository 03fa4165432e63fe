"""``glassnet tag | note | archive | unarchive | rm | gc | model alias``: the life of a run.

What people do with runs after recording them (docs/run-life.md): tag them, write a
note, hide them (archive), delete them (``rm``, with ``--dry-run``), collect the blobs
nobody names (``gc``), and move a registry alias to another model version. Nothing is
deleted without ``rm`` or ``gc``, and ``rm`` asks first unless given ``--yes``.
"""

from __future__ import annotations

import sys

import click

from glassnet.cli.common import common_options, emit, open_existing_store


def size(n: int) -> str:
    """Bytes as ``0 B``, ``12.3 KiB``, ``4.0 MiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def chosen_runs(store, names, filter_, archived: bool = True) -> list[str]:
    """The run ids named (ids or unique prefixes) plus those matching ``--filter``."""
    from glassnet.cli.common import resolve_run
    from glassnet.errors import ConfigError

    if not names and not filter_:
        raise click.UsageError("name the runs (ids or prefixes) or select them with --filter")
    ids = [resolve_run(store, name).id for name in names]
    if filter_:
        from glassnet.track.store.query.grammar import parse_filter

        parse_filter(filter_)  # errors point into the text as typed
        ids += [r.id for r in store.search_runs(filter_, as_records=True, archived=archived)]
        if not ids:
            raise ConfigError(f"no run matches the filter {filter_!r}")
    return list(dict.fromkeys(ids))


def filter_option(command):
    return click.option("--filter", "filter_", metavar="EXPR",
                        help="Also every run matching EXPR (docs/search.md).")(command)


class TagCommand(click.Command):
    """Reads ``-old`` as a tag to remove, not as options ``-o -l -d``: only this
    command's own options (--store, --debug, -h/--help) are options."""

    def parse_args(self, ctx, args):
        options, positional, rest = [], [], list(args)
        while rest:
            arg = rest.pop(0)
            if arg == "--":
                positional += rest
                break
            if arg == "--store" and rest:
                options += [arg, rest.pop(0)]
            elif arg.startswith("--store=") or arg in ("--debug", "--help", "-h"):
                options.append(arg)
            else:
                positional.append(arg)
        return super().parse_args(ctx, [*options, "--", *positional])


@click.command(cls=TagCommand)
@click.argument("run_name", metavar="RUN")
@click.argument("changes", nargs=-1, type=click.UNPROCESSED, metavar="[+TAG|-TAG]...")
@common_options
def tag(run_name, changes, store):
    """Add (+TAG, or TAG) and remove (-TAG) tags of a run; print its tags.

    Example: glassnet tag 3f2a +baseline -old. Put `--` before a tag to remove that
    is spelled like an option of this command: glassnet tag 3f2a -- -h.
    """
    from glassnet.cli.common import resolve_run

    opened = open_existing_store(store)
    run = resolve_run(opened, run_name)
    add = [c[1:] if c.startswith("+") else c for c in changes if not c.startswith("-")]
    remove = [c[1:] for c in changes if c.startswith("-")]
    if any(not t for t in add + remove):
        raise click.UsageError("a lone '+' or '-': write +TAG or -TAG")
    tags = opened.tag_run(run.id, add=add, remove=remove) if changes else run.tags
    emit(f"Run {run.id} tags: {', '.join(tags) if tags else '(none)'}")


@click.command()
@click.argument("run_name", metavar="RUN")
@click.argument("text", required=False)
@click.option("--file", "path", type=click.File("r", encoding="utf-8"),
              help="Read the note from this file ('-': standard input).")
@click.option("--clear", is_flag=True, help="Remove the note.")
@common_options
def note(run_name, text, path, clear, store):
    """Write a run's note (markdown text); without TEXT, print it.

    Example: glassnet note 3f2a "Baseline for the **new** optimizer; see issue 19".
    """
    from glassnet.cli.common import resolve_run

    given = [x for x in (text is not None, path is not None, clear) if x]
    if len(given) > 1:
        raise click.UsageError("give the note as TEXT, with --file or --clear: one of them")
    opened = open_existing_store(store)
    run = resolve_run(opened, run_name)
    if not given:
        if not run.note:
            emit(f"(run {run.id} has no note)")
        elif sys.stdout.isatty():  # on a terminal, wrapped to fit; piped, the text as is
            from glassnet.cli.common import console
            from glassnet.cli.runs import indented

            emit(indented(run.note, console().width - 4))
        else:
            click.echo(run.note, nl=not run.note.endswith("\n"))
        return
    written = opened.set_note(run.id, "" if clear else path.read() if path else text)
    emit(f"Run {run.id}: note cleared" if not written else
         f"Run {run.id}: note written ({len(written)} characters)")


@click.command()
@click.argument("run_names", nargs=-1, metavar="RUN...")
@filter_option
@common_options
def archive(run_names, filter_, store):
    """Hide runs from `glassnet runs`, searches and the dashboard; they are kept whole.

    `glassnet runs --archived` lists them; `glassnet unarchive` brings them back.
    """
    opened = open_existing_store(store)
    ids = chosen_runs(opened, run_names, filter_, archived=False)
    changed = opened.archive_runs(ids)
    emit(f"Archived {_count(len(changed))}" + (f" ({len(ids) - len(changed)} already were)"
                                               if len(changed) < len(ids) else ""))


@click.command()
@click.argument("run_names", nargs=-1, metavar="RUN...")
@filter_option
@common_options
def unarchive(run_names, filter_, store):
    """Show archived runs in lists and searches again."""
    opened = open_existing_store(store)
    ids = chosen_runs(opened, run_names, filter_, archived=True)
    changed = opened.archive_runs(ids, archived=False)
    emit(f"Unarchived {_count(len(changed))}")


@click.command()
@click.argument("run_names", nargs=-1, metavar="RUN...")
@filter_option
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before deleting.")
@common_options
def rm(run_names, filter_, dry_run, yes, store):
    """Delete runs: their rows in every table and the blobs no other run names.

    Model and dataset versions they logged stay in the registry. --filter selects
    archived runs too. Asks before deleting unless given --yes.
    """
    opened = open_existing_store(store)
    ids = chosen_runs(opened, run_names, filter_, archived=True)
    plan = opened.delete_runs(ids, dry_run=True)
    _emit_plan(plan)
    if dry_run:
        emit("Dry run: nothing was deleted.")
        return
    if not yes and not click.confirm(f"Delete {_count(len(plan.runs))} for good?",
                                     default=False):
        emit("Nothing was deleted.")
        return
    done = opened.delete_runs(ids)
    line = (f"Deleted {_count(len(done.runs))}, {done.total_rows} rows, "
            f"{len(done.blobs) - len(done.left)} blobs ({size(done.freed_bytes)})")
    if done.left:
        line += (f"; {len(done.left)} blobs in use moments ago are left for "
                 "`glassnet gc`")
    emit(line)


def _emit_plan(plan) -> None:
    from glassnet._engine.table import Table
    from glassnet.cli.runs import when

    emit(Table(["id", "project", "name", "status", "created"],
               [(r.id, r.project, r.name, r.status, when(r.created_at)) for r in plan.runs],
               title=f"{_count(len(plan.runs))} to delete"))
    rows = ", ".join(f"{table} {n}" for table, n in plan.rows.items() if n)
    emit(f"Rows: {plan.total_rows} ({rows})")
    blobs = f"Blobs freed: {len(plan.blobs)} ({size(plan.freed_bytes)})"
    if plan.shared:
        blobs += f"; {plan.shared} kept (other runs or the registry name them)"
    emit(blobs)
    kept = sum(plan.unlinked.values())
    if kept:
        emit(f"Registry versions kept (their run link cleared): {kept}")


@click.command()
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@click.option("--grace", type=click.FloatRange(min=0), default=3600, show_default=True,
              metavar="SECONDS", help="Leave files touched in the last SECONDS (a run "
                                      "writing one names it within seconds).")
@common_options
def gc(dry_run, grace, store):
    """Remove blobs no run or model names, and temporary files of dead writers."""
    found = open_existing_store(store).collect_garbage(dry_run=dry_run, grace_s=grace)
    verb = "Would remove" if dry_run else "Removed"
    line = (f"{verb} {len(found.blobs)} orphan blobs and {len(found.temporary)} temporary "
            f"files: {size(found.freed_bytes)}")
    if found.recent:
        line += f"; {found.recent} younger than {grace:g} s kept"
    emit(line)


@click.group(invoke_without_command=False)
def model():
    """The model registry: `glassnet model alias` (`glassnet models` lists it)."""


@model.command("alias")
@click.argument("spec", metavar="NAME:VERSION")
@click.argument("words", nargs=-1, metavar="[VERSION] ALIAS")
@click.option("--remove", is_flag=True, help="Take the alias away: glassnet model alias "
                                             "--remove NAME ALIAS.")
@common_options
def alias(spec, words, remove, store):
    """Move ALIAS to an existing version: glassnet model alias digits-mlp:v2 production.

    Also: glassnet model alias digits-mlp v2 production. The version that held the
    alias loses it.
    """
    from glassnet.track.registry import set_alias

    opened = open_existing_store(store)
    if remove:
        if len(words) != 1:
            raise click.UsageError("give NAME ALIAS: glassnet model alias --remove NAME ALIAS")
        held = opened.remove_model_alias(spec.partition(":")[0], words[0])
        emit(f"Removed alias {words[0]!r} from {spec.partition(':')[0]}:v{held}")
        return
    if len(words) == 2 and ":" not in spec:
        spec = f"{spec}:{words[0]}"
    elif len(words) != 1:
        raise click.UsageError("give NAME:VERSION ALIAS (or NAME VERSION ALIAS)")
    name = spec.partition(":")[0]
    before = {m["version"] for m in opened.models(name) if words[-1] in m["aliases"]}
    version = set_alias(spec, words[-1], opened)
    moved = f" (was v{before.pop()})" if before and before != {version} else ""
    emit(f"{name}:{words[-1]} -> v{version}{moved}")


def _count(n: int) -> str:
    return f"{n} run{'s' * (n != 1)}"
