"""What every command shares: the --store and --debug options, errors, printing, run names."""

from __future__ import annotations

import os
import sys

import click

DEFAULT_STORE = "glassnet-runs"
PIPE_WIDTH = 400


def store_option(command):
    """``--store DIR``: the run store (default $GLASSNET_STORE, else ./glassnet-runs)."""
    def remember(ctx, param, value):
        if value:  # a group's --store (``demo --store X lab``) reaches its subcommands
            ctx.find_root().meta["glassnet.store"] = value
        return value

    return click.option(
        "--store", "store", metavar="DIR", default=None, callback=remember,
        help="Run store: a folder or a postgresql:// URL (default: $GLASSNET_STORE "
             "or ./glassnet-runs).",
    )(command)


def debug_option(command):
    """``--debug`` on a command as well as before it: show the traceback of an error."""
    def remember(ctx, param, value):
        if value:
            ctx.find_root().meta["glassnet.debug"] = True
        return value

    return click.option("--debug", is_flag=True, expose_value=False, callback=remember,
                        is_eager=True, help="Show the full traceback on errors.")(command)


def common_options(command):
    return store_option(debug_option(command))


def store_path(store: str | None) -> str:
    """The store folder a command uses: its --store, the group's, $GLASSNET_STORE, the default."""
    if store is None:
        ctx = click.get_current_context(silent=True)
        store = ctx.find_root().meta.get("glassnet.store") if ctx is not None else None
    return store or os.environ.get("GLASSNET_STORE") or DEFAULT_STORE


def open_store(store: str | None):
    from glassnet.track import open_store as open_

    return open_(store_path(store))


def open_existing_store(store: str | None):
    """Open a store that must already hold runs (reading commands never create one)."""
    from glassnet.errors import NotFoundError
    from glassnet.track.store.opening import resolve_store_path, store_exists

    root = resolve_store_path(store_path(store))
    if not store_exists(root):
        raise NotFoundError(f"no run store at {root} (run `glassnet demo` or "
                            f"`glassnet train` first, or pass --store DIR)")
    return open_store(store)


def resolve_run(store, name: str):
    """The run named by its id or a unique prefix of it; an ambiguous prefix lists the matches."""
    from glassnet.errors import NotFoundError

    runs = store.runs(archived=True)  # an archived run is still there to be named
    exact = [r for r in runs if r.id == name]
    if exact:
        return exact[0]
    matches = [r for r in runs if r.id.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFoundError(f"no run with id {name!r} in store {store.root} "
                            f"(`glassnet runs` lists them)")
    listed = ", ".join(f"{r.id} ({r.project}/{r.name})" for r in matches[:10])
    raise NotFoundError(f"run id prefix {name!r} matches {len(matches)} runs: {listed}; "
                        f"give more characters")


# -- printing -----------------------------------------------------------------------------
def console():
    """A rich console on the current stdout; wide when stdout is not a terminal (pipes, tests)."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(highlight=False)
    # piped or captured: tables as wide as their content, never wrapped to a guessed
    # width; an explicit COLUMNS (COLUMNS=80 glassnet demo | less) is honoured
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH
    return Console(highlight=False, width=width, color_system=None, soft_wrap=False)


def emit(item) -> None:
    """Print one demo/command item: text as it is (no markup), a Table, or anything rich prints.

    A glassnet Table's title and notes print as lines above and below it, wrapped to
    the console (not to the table's width). A table fits the console: text cells wrap,
    a single run's ``run`` column goes into the title, and columns that still do not
    fit move to a second part (``glassnet._engine.table.terminal_parts``); numbers are never cut.
    """
    from glassnet._engine.table import Table, terminal_parts

    out = console()
    if isinstance(item, str):
        out.print(item, markup=False, highlight=False)
    elif isinstance(item, Table):
        for part in terminal_parts(item, out.width):
            if part.title:
                out.print(part.title, markup=False, highlight=False, style="bold")
            body = part.rich_table(out.width)
            body.title = body.caption = None
            out.print(body)
            for note in part.notes:
                out.print(note, markup=False, highlight=False, style="dim")
    else:
        out.print(item)


def echo_error(exc: BaseException) -> None:
    click.echo(f"{type(exc).__name__}: {exc}", err=True)


class GlassnetGroup(click.Group):
    """A group that turns any error into ``ErrorType: message`` on stderr and exit code 1.

    Usage errors stay click's (exit code 2). ``--debug`` (before or after the command
    name) lets the exception through, with its traceback.
    """

    def list_commands(self, ctx):
        return list(self.commands)  # the order they were added: the order to learn them in

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            if ctx.find_root().meta.get("glassnet.debug"):
                raise
            echo_error(exc)
            ctx.exit(1)


def progress_callback(total_epochs: int, description: str = "training"):
    """A training callback drawing one rich progress bar over all epochs, with the loss."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from glassnet.callbacks import Callback

    class RichProgress(Callback):
        def on_train_begin(self, logs=None):
            from rich.table import Column

            # a narrow terminal wraps the metrics onto more lines rather than cutting them
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(bar_width=20),
                MofNCompleteColumn(), TextColumn("epochs"), TimeElapsedColumn(),
                TextColumn("{task.fields[logs]}", table_column=Column(overflow="fold")),
                console=console(), transient=False)
            self.task = self.progress.add_task(description, total=total_epochs, logs="")
            self.progress.start()

        def on_epoch_end(self, epoch, logs=None):
            from glassnet._engine.table import format_value

            text = "  ".join(f"{k} {format_value(float(v))}" for k, v in (logs or {}).items())
            self.progress.update(self.task, advance=1, logs=text)

        def on_train_end(self, logs=None):
            self.progress.stop()

    return RichProgress()
