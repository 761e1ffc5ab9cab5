"""A local ICS feed server (ETag, 304, settable status and body) and the sample feed it serves."""

from __future__ import annotations

import http.server
import threading

# The sample feed (Europe/London): a weekly event with an EXDATE, an all-day holiday and a
# transparent (free) event — tests/sessions_app/test_calendars.py checks what it blocks.
FEED = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//EN
BEGIN:VTIMEZONE
TZID:Europe/London
BEGIN:STANDARD
DTSTART:19701025T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T010000
TZOFFSETFROM:+0000
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:weekly@test
DTSTART;TZID=Europe/London:20261102T100000
DTEND;TZID=Europe/London:20261102T110000
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=Europe/London:20261109T100000
SUMMARY:Team meeting
END:VEVENT
BEGIN:VEVENT
UID:allday@test
DTSTART;VALUE=DATE:20261120
DTEND;VALUE=DATE:20261121
SUMMARY:Holiday
END:VEVENT
BEGIN:VEVENT
UID:free@test
DTSTART:20261118T150000Z
DTEND:20261118T160000Z
TRANSP:TRANSPARENT
SUMMARY:Focus (free)
END:VEVENT
END:VCALENDAR
"""


class FeedServer:
    """A local ICS host: serves `body` with an ETag, answers 304 to If-None-Match."""

    def __init__(self):
        self.body = FEED
        self.status = 200
        self.hits = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits += 1
                etag = f'"{hash(server.body)}"'
                if server.status != 200:
                    self.send_response(server.status)
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/secret/basic.ics"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
