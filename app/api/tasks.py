"""API: the inbox, a task with its form, completing, claiming and reassigning."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from processes.engine import runtime, tasks

from .schemas import CompleteIn, InboxOut, InboxQuery, ReassignIn, TaskDetailOut, TaskOut

blp = Blueprint("tasks", __name__, description="User tasks")


@blp.route("/tasks")
class Inbox(MethodView):
    @blp.arguments(InboxQuery, location="query", unknown=RAISE)
    @blp.response(200, InboxOut)
    def get(self, query):
        """Open tasks you can act on, soonest due first (mine=true: only those assigned to you)."""
        return tasks.inbox(g.actor, limit=query["limit"], offset=query["offset"], mine_only=query["mine"])


@blp.route("/tasks/<int(max=2147483647):task_id>")
class TaskItem(MethodView):
    @blp.response(200, TaskDetailOut)
    def get(self, task_id):
        """A task with the JSON Schema of its form."""
        return tasks.get_task(g.actor, task_id)


@blp.route("/tasks/<int(max=2147483647):task_id>/complete")
class TaskComplete(MethodView):
    @blp.arguments(CompleteIn)
    @blp.response(200, TaskOut)
    @blp.alt_response(400, description="Form data invalid: errors by field; nothing changed")
    @blp.alt_response(409, description="Completed or changed by someone else first; nothing changed")
    def post(self, body, task_id):
        """Complete a task with its form data, validated against the form's JSON Schema."""
        return runtime.complete_task(g.actor, task_id, body["data"])  # its drafts go with it (a listener)


@blp.route("/tasks/<int(max=2147483647):task_id>/claim")
class TaskClaim(MethodView):
    @blp.response(200, TaskOut)
    def post(self, task_id):
        """Take a task waiting for your role."""
        return tasks.claim(g.actor, task_id)


@blp.route("/tasks/<int(max=2147483647):task_id>/unclaim")
class TaskUnclaim(MethodView):
    @blp.response(200, TaskOut)
    def post(self, task_id):
        """Give a task back to its role's queue."""
        return tasks.unclaim(g.actor, task_id)


@blp.route("/tasks/<int(max=2147483647):task_id>/reassign")
class TaskReassign(MethodView):
    @blp.arguments(ReassignIn)
    @blp.response(200, TaskOut)
    def post(self, body, task_id):
        """Managers: hand a task to another user holding its role in its area."""
        return tasks.reassign(g.actor, task_id, body["username"])
