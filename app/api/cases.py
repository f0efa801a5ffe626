"""API: cases, referrals (with their duplicate check), starting a pathway, delivering messages, and history."""

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint

from processes.engine import history, runtime
from processes.mace import allocation, cases, referrals

from .schemas import CaseHistoryOut, CaseIn, CaseOut, InstanceOut, MessageIn, ReferralIn, ReferralOut, StartIn, WorkerIn

blp = Blueprint("cases", __name__, description="Children's cases and their pathways")


@blp.route("/cases")
class Cases(MethodView):
    @blp.arguments(CaseIn)
    @blp.response(201, CaseOut)
    def post(self, body):
        """Create a case for a child in one of your areas."""
        return cases.create(g.actor, body["area"], body["child_name"], body["date_of_birth"])


@blp.route("/referrals")
class Referrals(MethodView):
    @blp.arguments(ReferralIn)
    @blp.response(201, ReferralOut)
    @blp.alt_response(400, description="Fields to correct, the screening answers as `screening.<field>`; nothing made")
    @blp.alt_response(409, description="code possible_duplicate: the child may already have a case (`matches`, "
                                       "their ids): send it with case_id, or again with confirm_new_child; "
                                       "code conflict: that case's pathway is already running")
    def post(self, body):
        """Raise a referral: the pathway starts and its screening step is completed with `screening`."""
        try:
            return referrals.start(g.actor, current_app.config["PATHWAY_KEY"], body["screening"],
                                   case_id=body["case_id"], area=body["area"], child_name=body["child_name"],
                                   date_of_birth=body["date_of_birth"], confirm_new_child=body["confirm_new_child"])
        except referrals.PossibleDuplicate as possible:
            referrals.shown_duplicates(g.actor, possible.matches)  # audited as the web page shows them
            raise


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
