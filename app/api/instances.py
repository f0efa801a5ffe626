"""API: a process instance's state, and cancelling it."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from processes.engine import history, runtime

from .schemas import CancelIn, InstanceOut, InstanceStateOut

blp = Blueprint("instances", __name__, description="Process instances")


@blp.route("/instances/<int(max=2147483647):instance_id>")
class InstanceItem(MethodView):
    @blp.response(200, InstanceStateOut)
    def get(self, instance_id):
        """The instance's status, open tasks and waiting timers."""
        return history.instance_state(g.actor, instance_id)


@blp.route("/instances/<int(max=2147483647):instance_id>/cancel")
class InstanceCancel(MethodView):
    @blp.arguments(CancelIn)
    @blp.response(200, InstanceOut)
    def post(self, body, instance_id):
        """Managers: stop a pathway instance, cancelling its open tasks and timers."""
        return runtime.cancel(g.actor, instance_id, body["reason"])
