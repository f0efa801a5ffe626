"""A generic BPMN engine over SpiffWorkflow: bundles, validation, restricted scripts, repository, runtime,
tasks, history, incidents and the sweep, modelled on Camunda's services.

It imports nothing of `processes.mace`, `app` or `workers`: a pathway plugs its rules in through
`processes.engine.hooks` (listeners, diagram functions, deploy checks, the lane resolver, sweep jobs).
It may import `processes.identity` for who is acting.
"""

import logging

# SpiffWorkflow logs every task state change at INFO, and while its logger's own level is unset it attaches
# the task's data (a child's details) to each record. Pinning the level keeps both out of every log.
for _name in ("spiff", "spiff.task", "spiff.workflow", "spiff.data", "spiff.dmn"):
    logging.getLogger(_name).setLevel(logging.WARNING)
