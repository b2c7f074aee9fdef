"""The inbox's guard for state-changing API calls: a staff login with the role, then CSRF."""

from collections.abc import Callable

from fastapi import Depends, Request

from support_app.console.staff.accounts import StaffUser, staff_api
from support_app.security import check_csrf_header


def staff_write(role: str) -> Callable[..., StaffUser]:
    """Like staff_api(role), and the call must carry the session's CSRF token in X-CSRF-Token
    (checked after the login, so a request without a login gets 401 whatever it carries)."""
    logged_in = staff_api(role)

    def dependency(request: Request, user: StaffUser = Depends(logged_in)) -> StaffUser:
        check_csrf_header(request)
        return user

    return dependency
