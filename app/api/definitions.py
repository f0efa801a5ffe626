"""API: deploy pathway bundles and list their versions."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from processes.engine import repository

from .schemas import BundleInvalidOut, DefinitionOut, DefinitionQuery, DeployIn

blp = Blueprint("definitions", __name__, description="Versioned pathway definitions (BPMN, DMN, forms)")


@blp.route("/definitions")
class Definitions(MethodView):
    @blp.arguments(DefinitionQuery, location="query", unknown=RAISE)
    @blp.response(200, DefinitionOut(many=True))
    def get(self, query):
        """List deployed versions, newest first."""
        return repository.list_versions(query.get("key"))

    @blp.arguments(DeployIn)
    @blp.response(201, DefinitionOut)
    @blp.alt_response(200, schema=DefinitionOut, description="Identical to the latest version; nothing changed")
    @blp.alt_response(422, schema=BundleInvalidOut,
                      description="The bundle has problems, all of them at once; each names its file, element id "
                                  "and element name")
    def post(self, body):
        """Validate and deploy a bundle as the next version of its key."""
        definition, created = repository.deploy(g.actor, body["key"], body["files"])
        return definition, (201 if created else 200)
