"""The templates' filters: every number through one policy, every claim marked.

The formatting policy for prose and for tables is stated and implemented in
:mod:`reportgen.formatting` (below the renderer, so that the claims write their sentences
with the same functions); in short:

- prose: three significant figures, integers as integers (n = 100), percentages to three
  significant figures, a share of 1000% or more as a factor ("13.5 times");
- tables: the same figures as the prose (κ reads 12.8 in a table and in the text), one
  unit per column: a relative-excess column is in percent in every row (in powers of ten
  from 1000% on: 8.50 × 10⁵%), "n/a" where a value is missing.

A claim (:mod:`reportgen.claims`) reaches a template as a plain view and is printed with
the ``claim`` filter, marked so that anyone can list and re-check what a handout asserts::

    <span data-claim="NAME" data-args='{"run": 0}' data-holds="yes">the sentence</span>
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup, escape

from reportgen.formatting import FACTOR_FROM as FACTOR_FROM
from reportgen.formatting import GROUP_FROM as GROUP_FROM
from reportgen.formatting import MINUS as MINUS
from reportgen.formatting import PROPER_NOUNS as PROPER_NOUNS
from reportgen.formatting import SCIENTIFIC_ABOVE as SCIENTIFIC_ABOVE
from reportgen.formatting import SIGNIFICANT as SIGNIFICANT
from reportgen.formatting import THIN as THIN
from reportgen.formatting import TIMES as TIMES
from reportgen.formatting import fmt_above as fmt_above
from reportgen.formatting import fmt_count as fmt_count
from reportgen.formatting import fmt_factor as fmt_factor
from reportgen.formatting import fmt_gap as fmt_gap
from reportgen.formatting import fmt_num as fmt_num
from reportgen.formatting import fmt_pct as fmt_pct
from reportgen.formatting import fmt_range as fmt_range
from reportgen.formatting import fmt_rate as fmt_rate
from reportgen.formatting import fmt_share as fmt_share
from reportgen.formatting import fmt_theta as fmt_theta
from reportgen.formatting import in_sentence as in_sentence
from reportgen.formatting import superscript as superscript

#: Subscripts a claim's plain text may write after a symbol: ``λ_min`` -> λ<sub>min</sub>.
_SUBSCRIPT = re.compile(r"(?<=[λθgBxyJmsv])_(min|max|0|1|2|k|i)\b")


def symbols_html(text: str) -> Markup:
    """Plain text with its symbols' subscripts as HTML (``λ_max`` -> λ<sub>max</sub>),
    everything else escaped."""
    return Markup(_SUBSCRIPT.sub(r"<sub>\1</sub>", str(escape(text))))


def claim_html(view: Mapping[str, Any] | None, short: bool = False) -> Markup:
    """A claim view (``reportgen.claims.view``) as its marked sentence (``short``: its few
    words for a table cell or a list); nothing for None or a claim with nothing to say."""
    if view is None or not view["text"]:
        return Markup("")
    args = json.dumps(view["args"], sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("'", "&#x27;")):
        args = args.replace(char, entity)
    return Markup('<span data-claim="{}" data-args=\'{}\' data-holds="{}">{}</span>').format(
        view["name"], Markup(args), _verdict(view["holds"]),
        symbols_html(view["short"] if short else view["text"]))


def _verdict(holds: bool | None) -> str:
    """A verdict as ``data-holds`` writes it: yes, no, or n/a (the copy withholds what it
    rests on)."""
    return "n/a" if holds is None else "yes" if holds else "no"


def claim_short(view: Mapping[str, Any] | None) -> Markup:
    """``claim_html`` of a claim's few words."""
    return claim_html(view, short=True)


def capitalised(view: Mapping[str, Any] | None) -> Markup:
    """``claim_html`` of a view whose sentence starts a sentence."""
    if view is None or not view["text"]:
        return Markup("")
    text = str(view["text"])
    # an ASCII letter only: a sentence starting with eta keeps its lower-case eta
    first = text[:1].upper() if "a" <= text[:1] <= "z" else text[:1]
    return claim_html({**view, "text": first + text[1:]})


#: The filters every template may use, by name.
FILTERS: dict[str, Callable[..., Any]] = {
    "num": fmt_num, "pct": fmt_pct, "theta": fmt_theta, "rate": fmt_rate, "given": fmt_rate,
    "interval": fmt_range, "factor": fmt_factor, "above": fmt_above, "gap": fmt_gap,
    "share": fmt_share, "in_sentence": in_sentence, "claim": claim_html, "Claim": capitalised,
    "claim_short": claim_short, "symbols": symbols_html}
