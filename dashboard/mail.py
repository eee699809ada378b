"""Plain-text email whose links survive being copied.

Python's email package wraps any body line longer than 78 characters with quoted-printable
soft breaks (`=` at the end of a line, `=3D` for `=`), so a link printed by the console backend
and pasted from a terminal is broken. RFC 5322 allows lines of up to 998 characters, so our
messages keep each link whole on its own line instead.
"""

import email.policy

from django.core.mail import EmailMessage

RFC5322_MAX_LINE = 998


class WholeLinesEmail(EmailMessage):
    def message(self, *, policy=email.policy.default):
        return super().message(policy=policy.clone(max_line_length=RFC5322_MAX_LINE))


def send_plain(subject: str, body: str, to: list[str]) -> None:
    WholeLinesEmail(subject, body, None, to).send()
