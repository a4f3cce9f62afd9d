#!/usr/bin/env python3
"""The Python baseline of calstore-bench `regen` (issue 21): icalendar + recurring-ical-events
compute the occurrences of every event in each calendar file of a directory up to a window end,
as the agent's original Python code would. Prints one line: `PERIODS SECONDS` (reading files
is outside the clock, parsing and expansion inside it).

Usage: regen_baseline.py DIR WINDOW_END_YYYYMMDD
"""

import datetime
import os
import sys
import time

import icalendar
import recurring_ical_events


def main() -> None:
    folder, end = sys.argv[1], sys.argv[2]
    until = datetime.datetime.strptime(end, "%Y%m%d").replace(tzinfo=datetime.timezone.utc)
    since = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    texts = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            texts.append(f.read())
    periods = 0
    started = time.perf_counter()
    for text in texts:
        calendar = icalendar.Calendar.from_ical(text)
        for event in recurring_ical_events.of(calendar).between(since, until):
            periods += 1
    spent = time.perf_counter() - started
    print(periods, spent)


if __name__ == "__main__":
    main()
