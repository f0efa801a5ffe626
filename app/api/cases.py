"""API: cases, starting their pathway, delivering messages, and their history."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from processes.engine import history, runtime
from processes.mace import allocation, cases

from .schemas import CaseHistoryOut, CaseIn, CaseOut, InstanceOut, MessageIn, StartIn, WorkerIn

blp = Blueprint("cases", __name__, description="Children's cases and their pathways")


@blp.route("/cases")
class Cases(MethodView):
    @blp.arguments(CaseIn)
    @blp.response(201, CaseOut)
    def post(self, body):
        """Create a case for a child in one of your areas."""
        return cases.create(g.actor, body["area"], body["child_name"], body["date_of_birth"])


@blp.route("/cases/<int(max=2147483647):case_id>")
class CaseItem(MethodView):
    @blp.response(200, CaseOut)
    def get(self, case_id):
        """A case of your areas (404 for any other)."""
        return cases.get(g.actor, case_id)


@blp.route("/cases/<int(max=2147483647):case_id>/instances")
class CaseInstances(MethodView):
    @blp.arguments(StartIn)
    @blp.response(201, InstanceOut)
    def post(self, body, case_id):
        """Start the latest version of a pathway for the case."""
        return runtime.start(g.actor, case_id, body["key"], body["data"])


@blp.route("/cases/<int(max=2147483647):case_id>/messages")
class CaseMessages(MethodView):
    @blp.arguments(MessageIn)
    @blp.response(200, InstanceOut(many=True))
    def post(self, body, case_id):
        """Deliver a message such as "missing_episode" to the case's pathway."""
        return runtime.deliver_message(g.actor, case_id, body["name"], body["payload"], body.get("key"))


@blp.route("/cases/<int(max=2147483647):case_id>/history")
class CaseHistory(MethodView):
    @blp.response(200, CaseHistoryOut)
    def get(self, case_id):
        """Every step of every cycle of the case, and its audit trail."""
        return history.case_history(g.actor, case_id)


@blp.route("/cases/<int(max=2147483647):case_id>/worker")
class CaseWorker(MethodView):
    @blp.arguments(WorkerIn)
    @blp.response(200, CaseOut)
    def put(self, body, case_id):
        """Give the case to another allocated worker of its area (team managers); its open steps move too."""
        return allocation.change_worker(g.actor, case_id, body["worker"])
