#!/usr/bin/env python3
"""The independent side of tests/differential.rs: reads every .ics file in a directory with the
`icalendar` package and expands it with recurring-ical-events, printing one JSON object
{file name: [[start, end], ...]} with instants in UTC (YYYYMMDDTHHMMSSZ), sorted, or
[["refused", why]] when the rule is refused. Floating and
all-day times are read in the zone given as the second argument (the user's zone).

Usage: expand.py DIR ZONE SPAN_START SPAN_END   (span dates as YYYYMMDD)
With DIFF_SLOW set, files that take over 0.2 s are named on stderr.
"""

import datetime
import json
import os
import sys
import time
import zoneinfo

import icalendar
import recurring_ical_events


def utc(value, zone):
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def main():
    directory, zone_name, first, last = sys.argv[1:5]
    zone = zoneinfo.ZoneInfo(zone_name)
    span = [datetime.datetime.strptime(d, "%Y%m%d").date() for d in (first, last)]
    out = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".ics"):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            cal = icalendar.Calendar.from_ical(f.read())
        periods = []
        began = time.time()
        try:
            for ev in recurring_ical_events.of(cal).between(*span):
                start = ev["DTSTART"].dt
                end = ev["DTEND"].dt if "DTEND" in ev else start
                periods.append([utc(start, zone), utc(end, zone)])
        except ValueError as e:
            # python-dateutil refuses a rule whose BYxxx parts its INTERVAL can never reach.
            periods = [["refused", str(e)]]
        if os.environ.get("DIFF_SLOW") and time.time() - began > 0.2:
            rule = [l for l in str(cal.walk("VEVENT")[0].get("RRULE", "").to_ical()).split()]
            print("SLOW", name, round(time.time() - began, 2), rule, file=sys.stderr)
        out[name] = sorted(periods)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
