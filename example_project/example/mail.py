"""Email backend of the example shop: every mail is printed on the console *and* kept as a file.

The console shows what goes out while you watch ``runserver``/``qcluster``/``demo_simulate``; the
``.eml`` files in ``settings.EMAIL_OUTBOX_DIR`` open in any mail client, so the HTML part can be
seen as a customer would see it.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend
from django.utils import timezone

# One counter per process, shared by all backend instances, so two mails written in the same
# microsecond still get different names.
_counter = itertools.count(1)
_counter_lock = threading.Lock()


class ConsoleAndOutboxBackend(ConsoleEmailBackend):
    """Django's console backend that also writes ``<outbox>/<timestamp>-<n>.eml`` per message.

    The timestamp is the application's clock (``timezone.now()``), so mails sent during
    ``demo_simulate`` are filed under the simulated date they were sent on.
    """

    def __init__(self, *args, outbox_dir: str | Path | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.outbox_dir = Path(outbox_dir or settings.EMAIL_OUTBOX_DIR)

    def write_message(self, message) -> None:
        super().write_message(message)
        self.save_eml(message)

    def save_eml(self, message) -> Path:
        """Write one message as an .eml file and return its path."""
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        data = message.message().as_bytes()
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S-%f")
        while True:
            with _counter_lock:
                n = next(_counter)
            path = self.outbox_dir / f"{stamp}-{n}.eml"
            try:
                # "x": never overwrite a file another process (a qcluster worker) just wrote.
                with path.open("xb") as handle:
                    handle.write(data)
                return path
            except FileExistsError:
                continue
