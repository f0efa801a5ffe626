"""API: administrators see background jobs that failed in the workflow, and retry them."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from processes.engine import incidents

from .schemas import IncidentOut

blp = Blueprint("incidents", __name__, description="Incidents (administrators)")


@blp.route("/incidents")
class IncidentList(MethodView):
    @blp.response(200, IncidentOut(many=True))
    def get(self):
        """Open incidents in your areas, oldest first."""
        return incidents.open_incidents(g.actor)


@blp.route("/incidents/<int(max=2147483647):incident_id>/retry")
class IncidentRetry(MethodView):
    @blp.response(200, IncidentOut)
    @blp.alt_response(422, description="It failed again: the error, by element id; the attempt is counted")
    def post(self, incident_id):
        """Run the instance's due work again; resolved if it now succeeds."""
        return incidents.retry(g.actor, incident_id)
