"""An HTTP proxy in front of moto's Cognito that answers ConfirmSignUp as Cognito does.

moto confirms any code for any existing user, even one confirmed already; Cognito refuses that
one (`NotAuthorizedException: User cannot be confirmed. Current status is CONFIRMED`) and, with
PreventUserExistenceErrors, answers an unknown user `CodeMismatchException`. The app talks HTTP
to this proxy as to Cognito; everything else is forwarded to moto unchanged.
"""

import json

from accounts.cognito import cognito, pool_config
from tests.http_proxy import Answer, ForwardingProxy, Request

_CONFIRM = "AWSCognitoIdentityProviderService.ConfirmSignUp"


def _user_status(email: str) -> str | None:
    try:
        return cognito().admin_get_user(UserPoolId=pool_config().pool_id, Username=email)["UserStatus"]
    except cognito().exceptions.UserNotFoundException:
        return None


def _error(code: str, message: str) -> Answer:
    body = json.dumps({"__type": code, "message": message}).encode()
    return Answer(400, {"Content-Type": "application/x-amz-json-1.1"}, body)


class CognitoAsAws(ForwardingProxy):
    def answer(self, request: Request) -> Answer:
        if request.target == _CONFIRM:
            status = _user_status(json.loads(request.body)["Username"])
            if status is None:
                return _error("CodeMismatchException", "Invalid code provided, please try again.")
            if status == "CONFIRMED":
                return _error(
                    "NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED"
                )
        return self.forward(request)
