"""Drops a loop's finished iterations from a workflow's task tree, so saved state stays flat however often it loops.

SpiffWorkflow adds a new task for every step a loop drawn with a back edge comes round to, below the tasks of
the iterations before it, and keeps them all: saved state, and every step's work, grew with each cycle. What
went on in them is already in the human_tasks, timers and audit tables.

What Spiff needs to go on lies below the nearest common ancestor of the parents of every unfinished task
(open steps, waiting timers and joins, predicted tasks): a waiting task takes its data from its parent again
whenever Spiff updates it, and a parallel join counts the branches that reached it among that ancestor's
descendants. So that ancestor's whole subtree is kept, and only the chain of finished tasks above it, with the
finished branches hanging off that chain and their subprocesses, is removed. The root (the workflow's Start
task, where Spiff starts processes a message triggers) stays, with the kept subtree as its one child. Task ids
never change, so the rows that name open steps and timers still match.
"""

from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState


def prune(workflow: BpmnWorkflow) -> int:
    """Remove finished loop iterations from the workflow and its running subprocesses; returns tasks removed."""
    removed = _prune_tree(workflow)
    for subprocess in list(workflow.subprocesses.values()):
        if not subprocess.completed:
            removed += _prune_tree(subprocess)
    _drop_orphaned_subprocesses(workflow)
    return removed


def _prune_tree(workflow: BpmnBaseWorkflow) -> int:
    # Task ids and `_parent` rather than Task.parent: this runs on every save, and those lookups were most of it.
    tasks, root = workflow.tasks, workflow.task_tree
    parents = {task._parent for task in tasks.values() if task._state & TaskState.NOT_FINISHED_MASK}
    if not parents or None in parents:
        return 0  # finished (nothing to go on with), or just started: nothing above the live tasks
    keep = tasks[_common_ancestor(tasks, parents)]
    if keep is root or keep._parent == root.id:
        return 0
    kept = {root.id, *(task.id for task in _subtree(keep))}
    dropped = [task_id for task_id in tasks if task_id not in kept]
    for task_id in dropped:
        workflow.top_workflow.event_manager.remove_task(tasks.pop(task_id))
    keep._parent, root._children = root.id, [keep.id]
    if workflow.last_task is not None and workflow.last_task.id not in kept:
        workflow.last_task = None
    return len(dropped)


def _common_ancestor(tasks: dict[UUID, Task], task_ids: set[UUID]) -> UUID:
    """The id of the deepest task that is, or is an ancestor of, every one of `task_ids`."""
    first, *others = task_ids
    path = [first]  # from the task up to the root
    while (parent := tasks[path[-1]]._parent) is not None:
        path.append(parent)
    position = {task_id: index for index, task_id in enumerate(path)}
    deepest = 0
    for task_id in others:
        while task_id not in position:
            task_id = tasks[task_id]._parent
        deepest = max(deepest, position[task_id])
    return path[deepest]


def _subtree(task: Task) -> list[Task]:
    # Iterative, and not Spiff's iterator: that one stops 1,000 tasks deep.
    found, pending = [], [task]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(current.children)
    return found


def _drop_orphaned_subprocesses(workflow: BpmnWorkflow) -> None:
    """A subprocess whose calling task was pruned (a finished call activity of an earlier cycle) goes too,
    and then any it called in turn."""
    while True:
        present = set(workflow.tasks).union(*(subprocess.tasks for subprocess in workflow.subprocesses.values()))
        orphaned = [task_id for task_id in workflow.subprocesses if task_id not in present]
        if not orphaned:
            return
        for task_id in orphaned:
            del workflow.subprocesses[task_id]
