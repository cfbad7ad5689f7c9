"""The typer app and what every command shares: options, one-line errors, JSON or text output.

Exit codes: 0 nothing failed; 1 a check found a failure; 2 usage or input error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from advisor import __version__
from advisor.choices import AttentionChoice, Optimizer, Precision, Task
from advisor.errors import AdvisorError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from advisor.knowledge.cards import CardDatabase
    from advisor.probe.discover import Choice

EXIT_CODES_HELP = (
    "Exit codes: 0 = nothing failed, 1 = a check found a failure (bench: nothing could be "
    "measured), 2 = usage or input error, "
    "130 = interrupted (143 for SIGTERM). --debug shows the traceback of an unexpected error."
)


class _OneLineErrors(TyperGroup):
    """Usage errors (an unknown option, a value of the wrong type) as one line and exit 2, the
    same as every other input error, wherever the app is called from."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        import sys

        argv = list(args) if args is not None else sys.argv[1:]
        try:
            value = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            code = value if isinstance(value, int) else 0
        except Exception as exc:
            # typer carries its own copy of click: its exceptions are known by name
            kinds = {cls.__name__ for cls in type(exc).__mro__}
            if "NoArgsIsHelpError" in kinds:  # `advisor`, `advisor cards`: the help, on stdout
                ctx = getattr(exc, "ctx", None)
                if ctx is not None:
                    typer.echo(ctx.get_help())
                code = 0
            elif "UsageError" in kinds:
                formatter = getattr(exc, "format_message", None)
                message = formatter() if callable(formatter) else str(exc)
                message = message.replace("Value error, ", "")  # typer's wording for a Literal choice
                command = " ".join(a for a in argv[:2] if not a.startswith("-")) or "advisor"
                code = _fail(command, f"{message} (see advisor --help)", "--json" in argv).exit_code
            else:
                raise
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    name="advisor",
    cls=_OneLineErrors,
    help=(
        "GPU hardware advisor for deep learning: what is in this machine, what is wrong with it "
        "and how to fix it, and which GPU a job needs.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    # plain help: it fits 80 columns and has no <bool> type noise; choices show as <a|b|c>
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
cards_app = typer.Typer(
    help="The GPU card database: specs with their sources.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(cards_app, name="cards")

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON (one envelope, no colour) instead of text.")
]
CardsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--cards",
        metavar="<file>",
        help="Your own card YAML: adds cards, or overrides fields of built-in ones (e.g. prices). "
        "Repeatable. <config dir>/cards.yaml is read too.",
        envvar="ADVISOR_CARDS",
        dir_okay=False,
    ),
]

TaskOpt = Annotated[
    Task, typer.Option(case_sensitive=False, help="What the job does (finetune: every weight trained).")
]
PrecisionOpt = Annotated[
    Precision,
    typer.Option(case_sensitive=False, help="Weights and compute (fp16/bf16 training: mixed precision)."),
]
OptimizerOpt = Annotated[Optimizer, typer.Option(case_sensitive=False, help="The optimizer (its state).")]
BatchOpt = Annotated[int, typer.Option(help="Micro-batch per GPU.")]
SeqOpt = Annotated[int | None, typer.Option(help="Sequence length (default: the model's, at most 2048).")]
CheckpointOpt = Annotated[
    bool, typer.Option("--grad-checkpointing", help="Recompute activations in backward.")
]
AttentionOpt = Annotated[
    AttentionChoice,
    typer.Option(case_sensitive=False, help="sdpa: fused kernels (flash: the same memory); eager: not."),
]
ModelArg = Annotated[
    str,
    typer.Argument(
        help="A preset (advisor models), a size (7B, 350M, 1.3e9) or a Hugging Face config.json path."
    ),
]

T = TypeVar("T")


def finite(option: str, value: float | None) -> float | None:
    """A float option that means a number: NaN and infinity are refused in one line."""
    import math

    if value is not None and not math.isfinite(value):
        raise AdvisorError(f"{option} must be a number, got {value:g}")
    return value


def _fail(command: str, message: str, as_json: bool) -> typer.Exit:
    if as_json:
        from advisor.render.jsonout import envelope

        typer.echo(envelope(command, error=message))
    else:
        typer.echo(f"advisor: error: {message}", err=True)
    return typer.Exit(2)


def _run(command: str, as_json: bool, compute: Callable[[], T]) -> T:
    """Run the pure part of a command; a user error becomes one line and exit code 2."""
    try:
        return compute()
    except AdvisorError as exc:
        raise _fail(command, str(exc), as_json) from None


def _emit(command: str, as_json: bool, result: BaseModel, renderer: str, *extra: Any) -> None:
    """JSON from the model, or the renderer ("module:function") called with a console and it.

    Renderers are imported only when text is wanted: --json never loads rich's tables.
    """
    if as_json:
        from advisor.render.jsonout import envelope

        typer.echo(envelope(command, result))
        return
    import importlib

    from advisor.render.console import make_console

    module, _, name = renderer.partition(":")
    getattr(importlib.import_module(module), name)(make_console(), result, *extra)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"advisor {__version__} (gpu-advisor)")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Show the version and exit.",
            is_eager=True,
            callback=_version_callback,
        ),
    ] = False,
) -> None:
    """GPU hardware advisor for deep learning."""


def _database(cards: list[Path] | None) -> CardDatabase:
    from advisor.knowledge.cards import load_cards

    return load_cards(tuple(cards or ()))


PythonOpt = Annotated[
    str | None,
    typer.Option(
        "--python",
        help="The interpreter whose PyTorch to check. Default, first found: $ADVISOR_PYTHON, "
        "$VIRTUAL_ENV, $CONDA_PREFIX, python3 on PATH, advisor's own. advisor runs it in a "
        "subprocess and never imports torch itself.",
    ),
]
NoPythonOpt = Annotated[
    bool, typer.Option("--no-python", help="Skip the framework probe (fast: NVML and host only).")
]
TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", help="Seconds to wait for the framework probe before calling it hung."),
]


def _interpreter(python: str | None) -> Choice:
    """The Python to check: --python, $ADVISOR_PYTHON, $VIRTUAL_ENV, $CONDA_PREFIX, PATH, our own."""
    from advisor.probe.discover import NoSuchInterpreter, choose

    try:
        return choose(python)
    except NoSuchInterpreter as exc:
        raise AdvisorError(str(exc)) from None


def _timeout(value: float) -> float:
    if not value > 0 or value > 3600:
        raise AdvisorError(f"--timeout must be between 0 and 3600 seconds, got {value:g}")
    return value


def _job(
    task: str,
    precision: str,
    optimizer: str,
    batch: int,
    seq: int | None,
    ckpt: bool,
    attention: str,
    gpus: int,
    sharding: str,
    lora_rank: int,
    target_seq: int | None = None,
    device: str = "cuda",
    prefill_chunk: int | None = None,
) -> Any:
    from pydantic import ValidationError

    from advisor.estimate.job import Job

    try:
        return Job(
            task=task,
            precision=precision,
            optimizer=optimizer,
            batch=batch,
            seq=seq,
            grad_checkpointing=ckpt,
            # FlashAttention and SDPA's fused kernels keep the same tensors for backward.
            attention="sdpa" if attention in ("flash", "flash2", "fa2") else attention,
            gpus=gpus,
            sharding=sharding,
            lora_rank=lora_rank,
            target_seq=target_seq,
            device=device,
            prefill_chunk=prefill_chunk,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise AdvisorError(f"--{str(err['loc'][0]).replace('_', '-')}: {err['msg']}") from None
