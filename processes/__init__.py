"""The engine service layer: repository, runtime, tasks, history and scheduling services over SpiffWorkflow."""

import logging

# SpiffWorkflow logs every task state change at INFO, and while its logger's own level is unset it attaches
# the task's data (a child's details) to each record. Pinning the level keeps both out of every log.
for _name in ("spiff", "spiff.task", "spiff.workflow", "spiff.data", "spiff.dmn"):
    logging.getLogger(_name).setLevel(logging.WARNING)
