"""The permissions the engine and identity check; a pathway grants them to its roles (identity.users.use_policy)."""

# Each names something one may do, never who: which roles hold it is the pathway's policy, not the engine's.
TASK_SEE_AREA = "task.see_area"  # sees every task of its areas, not only its roles' (and the inbox's team scope)
TASK_REASSIGN = "task.reassign"  # hands an open task to someone else, or back to its queue
INSTANCE_START = "instance.start"  # starts a pathway for a case of its areas
INSTANCE_CANCEL = "instance.cancel"
MESSAGE_DELIVER = "message.deliver"  # delivers a message (a missing episode, say) to a case's pathway
DEFINITION_DEPLOY = "definition.deploy"
INCIDENT_RETRY = "incident.retry"  # sees the incidents of its areas and runs their work again
USERS_MANAGE = "users.manage"  # adds users and areas, changes roles and areas, resets passwords, deactivates

ENGINE_PERMISSIONS = frozenset({TASK_SEE_AREA, TASK_REASSIGN, INSTANCE_START, INSTANCE_CANCEL, MESSAGE_DELIVER,
                                DEFINITION_DEPLOY, INCIDENT_RETRY, USERS_MANAGE})
