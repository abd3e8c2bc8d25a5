"""The embedded default job: a rolling KV session over the bundled real trajectory's screenshots.

Each recorded screenshot becomes one turn appended to ONE cache (instruction once, then screenshot turns and
the model's answers), and the cache is measured after every step. With the offline ``tiny`` model the answers
are noise; the point is the machinery and the numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image

from guiagent.agent.eval.sources import example_steps


@dataclass(frozen=True)
class DemoStep:
    step: int
    answer: str
    logical_tokens: int
    physical_tokens: int
    mib_held: float
    mib_full: float
    prefill_s: float
    decode_s: float


def rolling_demo(
    loaded, *, steps: int | None = None, max_new_tokens: int = 16, method=None, budget: str | float = 100
) -> Iterator[DemoStep]:
    """Run the bundled screenshots through one rolling session, yielding what each step cost."""
    from guiagent.compression.chat import screenshot_turns
    from guiagent.compression.session import KVSession

    instruction, shots = example_steps()
    shots = shots[:steps] if steps else shots
    turns = screenshot_turns(
        loaded.processor, len(shots), system="You are a GUI agent.", task=instruction, prompt="What is the next action?"
    )
    with KVSession(loaded, method=method, budget=budget) as session:
        for step, path in enumerate(shots, start=1):
            # a later turn first closes the previous (generated) answer the way the template ends an answer turn
            text = ("" if step == 1 else turns[step - 2][1]) + turns[step - 1][0]
            session.append(text, [Image.open(path).convert("RGB")])
            prefill_s = session.last_timings["prefill_s"]
            answer = session.generate(max_new_tokens=max_new_tokens)
            stats = session.stats
            yield DemoStep(
                step=step,
                answer=answer,
                logical_tokens=stats.logical_tokens,
                physical_tokens=max(stats.physical_tokens_per_layer),
                mib_held=stats.bytes_held / 2**20,
                mib_full=stats.bytes_full / 2**20,
                prefill_s=prefill_s,
                decode_s=session.last_timings["decode_s"],
            )


def print_demo(rows: Iterator[DemoStep], echo: Callable[[str], None] = print) -> None:
    echo(
        f"{'step':>4} {'logical':>8} {'held/layer':>10} {'MiB held':>9} {'MiB full':>9} {'prefill s':>9} "
        f"{'decode s':>8}"
    )
    for row in rows:
        echo(
            f"{row.step:>4} {row.logical_tokens:>8} {row.physical_tokens:>10} {row.mib_held:>9.2f} "
            f"{row.mib_full:>9.2f} {row.prefill_s:>9.3f} {row.decode_s:>8.3f}"
        )
