"""The bottleneck view's colours: each user task's median time against its target, as Camunda Optimize's
target-value heatmap shows it, and each stage (call activity) of the main diagram as its worst step.

Presentation only: the figures come from `processes.oversight.bottlenecks`; this decides how they look.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from processes.mace.diagrams import ProcessInfo
from processes.mace.oversight import StepStats

AMBER_UP_TO = 1.5  # green at or under its target, amber up to 1.5 times it, red above
LEVELS = ("green", "amber", "red")
WORDS = {"green": "Within target", "amber": "Up to 1.5 times its target", "red": "Over 1.5 times its target",
         "none": "No target set"}


def level(ratio: float | None) -> str:
    """green, amber or red for a median-to-target ratio; none when the step has no target (no due time)."""
    if ratio is None:
        return "none"
    if ratio <= 1:
        return "green"
    return "amber" if ratio <= AMBER_UP_TO else "red"


@dataclass
class Heat:
    """What the diagram marks on one element, and what its tooltip and the table say."""

    element_id: str
    level: str
    title: str
    ratio: float | None = None
    target_days: float | None = None
    median_days: float | None = None
    over_target: int = 0  # cases with the step (any step, for a stage) over its target
    count: int = 0
    process_id: str | None = None  # the step's process; for a stage, the process it calls
    stage: bool = False
    worst_step: str | None = None  # for a stage: the name of its slowest step against target
    steps: list[StepStats] = field(default_factory=list)

    @property
    def words(self) -> str:
        return WORDS[self.level]

    def as_json(self) -> dict:
        return {"level": self.level, "words": self.words, "title": self.title, "ratio": self.ratio,
                "targetDays": self.target_days, "medianDays": self.median_days, "overTarget": self.over_target,
                "count": self.count, "stage": self.stage, "processId": self.process_id, "worstStep": self.worst_step}


def of_step(stats: StepStats) -> Heat:
    ratio = stats.ratio
    return Heat(stats.element_id, level(ratio), stats.name, ratio, stats.target_days, stats.median_days,
                len(stats.cases_over_target), stats.count, stats.process_id, steps=[stats])


def of_stage(element_id: str, title: str, called: str, inside: list[StepStats]) -> Heat:
    """A call activity stands for its whole stage: coloured as its worst step against target, counting every
    step's cases over target."""
    rated = [s for s in inside if s.ratio is not None]
    worst = max(rated, key=lambda s: s.ratio or 0, default=None)
    return Heat(element_id, level(worst.ratio) if worst else "none", title, worst.ratio if worst else None,
                worst.target_days if worst else None, worst.median_days if worst else None,
                len({case for s in inside for case in s.cases_over_target}), sum(s.count for s in inside), called,
                stage=True,
                worst_step=worst.name if worst else None, steps=inside)


def reachable(processes: dict[str, ProcessInfo], start: str) -> set[str]:
    """The process and every process it calls, however deep."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo += list(processes[pid].calls.values()) if pid in processes else []
    return seen


def for_diagram(processes: dict[str, ProcessInfo], file: str, stats: Iterable[StepStats],
                stage_names: dict[str, str]) -> dict[str, Heat]:
    """Element id -> its heat, for every user task and call activity drawn in the BPMN file `file`."""
    stats = list(stats)
    drawn = {pid for pid, info in processes.items() if info.file == file}
    heat = {s.element_id: of_step(s) for s in stats if s.process_id in drawn}
    for pid in sorted(drawn):
        for element, called in processes[pid].calls.items():
            reached = reachable(processes, called)
            inside = [s for s in stats if s.process_id in reached]
            if inside:
                heat[element] = of_stage(element, stage_names.get(called, called), called, inside)
    return heat
