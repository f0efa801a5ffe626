"""API: my reminders, overdue notices and escalations, with the unread count."""

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from processes.mace import notifications

from .schemas import NotificationOut, NotificationQuery, NotificationsOut

blp = Blueprint("notifications", __name__, description="In-app notifications")


@blp.route("/notifications")
class NotificationList(MethodView):
    @blp.arguments(NotificationQuery, location="query", unknown=RAISE)
    @blp.response(200, NotificationsOut)
    def get(self, query):
        """Your notifications, newest first, and how many are unread (unread=true: only those)."""
        return notifications.for_user(g.actor, unread_only=query["unread"], limit=query["limit"],
                                      offset=query["offset"])


@blp.route("/notifications/<int(max=2147483647):notification_id>/read")
class NotificationRead(MethodView):
    @blp.response(200, NotificationOut)
    def post(self, notification_id):
        """Mark one of your notifications read."""
        return notifications.mark_read(g.actor, notification_id)
