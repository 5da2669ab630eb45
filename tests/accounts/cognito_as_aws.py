"""An HTTP proxy in front of moto's Cognito that answers ConfirmSignUp as Cognito does.

moto confirms any code for any existing user, even one confirmed already; Cognito refuses that
one (`NotAuthorizedException: User cannot be confirmed. Current status is CONFIRMED`) and, with
PreventUserExistenceErrors, answers an unknown user `CodeMismatchException`. The app talks HTTP
to this proxy as to Cognito; everything else is forwarded to moto unchanged.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from accounts.cognito import cognito, pool_config

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
_CONFIRM = "AWSCognitoIdentityProviderService.ConfirmSignUp"


def _user_status(email: str) -> str | None:
    try:
        return cognito().admin_get_user(UserPoolId=pool_config().pool_id, Username=email)["UserStatus"]
    except cognito().exceptions.UserNotFoundException:
        return None


class CognitoAsAws:
    def __init__(self, upstream: str) -> None:
        upstream = upstream.rstrip("/")

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("X-Amz-Target") == _CONFIRM:
                    status = _user_status(json.loads(body)["Username"])
                    if status is None:
                        return self._error(
                            "CodeMismatchException", "Invalid code provided, please try again."
                        )
                    if status == "CONFIRMED":
                        return self._error(
                            "NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED"
                        )
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                answer = requests.post(upstream + self.path, data=body, headers=headers, timeout=30)
                self._answer(answer.status_code, answer.headers.get("Content-Type", ""), answer.content)

            def _error(self, code: str, message: str) -> None:
                body = json.dumps({"__type": code, "message": message}).encode()
                self._answer(400, "application/x-amz-json-1.1", body)

            def _answer(self, status: int, content_type: str, content: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "CognitoAsAws":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
