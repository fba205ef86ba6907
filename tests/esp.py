"""An ESP for tests: anymail's test backend, with some addresses answered the way real ESPs fail.

- ``transient…@`` → HTTP 503 for the first two attempts of each address, then accepted;
- ``rejected…@`` → the ESP rejects the recipient;
- ``down…@`` → the connection breaks (an ``OSError``);
- anything else is accepted.
"""

from collections import Counter

import requests

from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailAPIError
from anymail.message import AnymailRecipientStatus

attempts: Counter = Counter()


class FlakyEmailBackend(AnymailTestBackend):
    def post_to_esp(self, payload, message):
        to = message.to[0]
        attempts[to] += 1
        if to.startswith("transient") and attempts[to] <= 2:
            response = requests.Response()
            response.status_code, response.reason = 503, "Service Unavailable"
            response._content = b'{"message": "try again later"}'
            message.anymail_test_response = AnymailAPIError(
                "ESP API response 503", status_code=503, response=response, email_message=message
            )
        elif to.startswith("rejected"):
            message.anymail_test_response = {
                "recipient_status": {to: AnymailRecipientStatus(message_id=None, status="rejected")}
            }
        elif to.startswith("down"):
            raise OSError("Connection reset by peer")
        response = super().post_to_esp(payload, message)
        return response
