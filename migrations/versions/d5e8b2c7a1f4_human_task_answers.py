"""human_tasks.answers: what each completed step recorded, its own form's fields, so that the case page reads
rows instead of deserializing workflows, and the engine may prune finished loop iterations from saved state

Steps completed before this revision get their answers from the saved state they live in, read here as JSON
(no workflow is run or restored): each task's data is rebuilt from its delta chain, limited to its form's
fields, and a field kept only because an earlier step set it to the same value is left out unless the form
requires it, exactly as the case page chose before. A step whose task is no longer in the state (its instance
was erased) keeps NULL, which the case page shows as no answers.

Revision ID: d5e8b2c7a1f4
Revises: a7e3c1f2d9b0
Create Date: 2026-12-02 17:30:00

"""
import json
from typing import Any

import sqlalchemy as sa
from alembic import op
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

# revision identifiers, used by Alembic.
revision = 'd5e8b2c7a1f4'
down_revision = 'a7e3c1f2d9b0'
branch_labels = None
depends_on = None

_MISSING = object()


def upgrade():
    with op.batch_alter_table('human_tasks') as batch:
        batch.add_column(sa.Column('answers', sa.JSON(), nullable=True))
    _backfill(op.get_bind())


def downgrade():
    with op.batch_alter_table('human_tasks') as batch:
        batch.drop_column('answers')


def _backfill(connection) -> None:
    tasks = sa.table('human_tasks', sa.column('id'), sa.column('instance_id'), sa.column('spiff_task_id'),
                     sa.column('form'), sa.column('status'), sa.column('answers', sa.JSON()))
    instances = sa.table('process_instances', sa.column('id'), sa.column('state'), sa.column('definition_id'))
    definitions = sa.table('process_definitions', sa.column('id'), sa.column('files', sa.JSON()))
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    done = connection.execute(sa.select(tasks.c.id, tasks.c.instance_id, tasks.c.spiff_task_id, tasks.c.form)
                              .where(tasks.c.status == 'completed', tasks.c.form.is_not(None))
                              .order_by(tasks.c.instance_id)).all()
    by_instance: dict[int, list] = {}
    for row in done:
        by_instance.setdefault(row.instance_id, []).append(row)
    forms: dict[int, dict[str, Any]] = {}
    for instance_id, rows in by_instance.items():
        instance = connection.execute(sa.select(instances.c.state, instances.c.definition_id)
                                      .where(instances.c.id == instance_id)).first()
        if instance is None:
            continue
        if instance.definition_id not in forms:
            files = connection.scalar(sa.select(definitions.c.files)
                                      .where(definitions.c.id == instance.definition_id)) or {}
            forms[instance.definition_id] = {name: text for name, text in files.items() if name.endswith('.json')}
        saved = _task_data(json.loads(instance.state), registry)
        for row in rows:
            found = saved.get(row.spiff_task_id)
            text = forms[instance.definition_id].get(row.form)
            if found is None or text is None:
                continue
            data, before = found
            answers = _own_answers(data, before, json.loads(text))
            connection.execute(sa.update(tasks).where(tasks.c.id == row.id)
                               .values(answers=json.loads(json.dumps(answers, default=str))))


def _task_data(state: dict[str, Any], registry) -> dict[str, tuple[dict, dict]]:
    """Each task's data and its parent's, by task id, over the workflow and its subprocesses."""
    found: dict[str, tuple[dict, dict]] = {}
    for tasks in [state.get('tasks', {}), *(sp.get('tasks', {}) for sp in state.get('subprocesses', {}).values())]:
        data: dict[str, dict] = {}
        for task_id, task in tasks.items():
            parent = task.get('parent')
            found[task_id] = (_data_of(task_id, tasks, data, registry),
                              _data_of(parent, tasks, data, registry) if parent in tasks else {})
    return found


def _data_of(task_id: str, tasks: dict[str, dict], data: dict[str, dict], registry) -> dict:
    """A task's data as Spiff restores it: its parent's, with the task's own delta applied (memoized in `data`).

    Iterative: a long loop's chain of tasks is deeper than Python's recursion allows."""
    chain, current = [], task_id
    while current in tasks and current not in data:
        chain.append(current)
        current = tasks[current].get('parent')
    for child in reversed(chain):
        task, parent = tasks[child], tasks[child].get('parent')
        if parent in data:
            delta = task.get('delta') or {}
            merged = {**data[parent], **registry.restore(delta.get('updates', {}))}
            for key in delta.get('deletions', []):
                merged.pop(key, None)
        else:
            merged = registry.restore(task.get('data') or {})
        data[child] = merged
    return data[task_id]


def _own_answers(data: dict, before: dict, schema: dict[str, Any]) -> dict[str, Any]:
    required = set(schema.get('required', []))
    return {name: data[name] for name in schema.get('properties', {})
            if name in data and (name in required or before.get(name, _MISSING) != data[name])}
