"""A small HTTP proxy for fault tests: forwards every request, and holds back chosen answers.

It sits between the app and the local DynamoDB server. A request whose `X-Amz-Target` names a
chosen operation (e.g. `TransactWriteItems`) is forwarded at once, so the server applies it, but
its answer is delayed past the client's read timeout: the write landed, the client cannot know.
"""

import time

from tests.http_proxy import Answer, ForwardingProxy, Request


class SlowAnswerProxy(ForwardingProxy):
    def __init__(self, upstream: str, *, slow_operations: set[str], delay: float) -> None:
        super().__init__(upstream)
        self.slow_operations = slow_operations
        self.delay = delay
        self.delayed: list[str] = []  # the operations whose answers were held back

    def answer(self, request: Request) -> Answer:
        answer = self.forward(request)
        if request.operation in self.slow_operations:
            self.delayed.append(request.operation)
            time.sleep(self.delay)
        return answer
