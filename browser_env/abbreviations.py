"""Full stops that end an initial or a common abbreviation rather than a sentence: "John F. Kennedy",
"Sgt. Pepper", "No. 1", "St. Louis". Dotted acronyms ("U.S.") end sentences as often as not, so they
are not listed. Every sentence splitter that reads page text asks this before cutting.
"""

from __future__ import annotations

import re

_ABBREVIATION = re.compile(
    r"(?:^|[\s(\"“‘])(?:[A-Z]|Mr|Mrs|Ms|Dr|St|Sgt|Lt|Gen|Col|Capt|Maj|Adm|Brig|Cpl|Pvt|Gov|Sen|Rev|Prof|Hon"
    r"|Jr|Sr|Inc|Co|Ltd|vs|No|Nos|Vol|Mt|Ft|ca|c|approx|cf|fl)\.$"
)


def ends_with_abbreviation(text: str) -> bool:
    """Whether ``text``, all that comes before a possible sentence end, ends in an initial or a common
    abbreviation with its full stop."""
    return _ABBREVIATION.search(text) is not None
