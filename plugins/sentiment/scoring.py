"""Text -> score (VADER's compound score, lexicon shipped in the vaderSentiment wheel) and
text -> pairs (keywords per base currency)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from plugins.sentiment.settings import DEFAULT_KEYWORDS, SUBREDDIT_COINS


class VaderScorer:
    """VADER's compound score in [-1, 1]; the analyser loads its lexicon from the installed package."""

    def __init__(self) -> None:
        self._analyser = SentimentIntensityAnalyzer()

    def score(self, text: str) -> float:
        return float(self._analyser.polarity_scores(text)["compound"])


class PairMatcher:
    """Which configured pairs a post is about."""

    def __init__(self, bases: Mapping[str, str], keywords: Mapping[str, Iterable[str]] | None = None) -> None:
        self.bases = dict(bases)
        words = keywords or DEFAULT_KEYWORDS
        self._patterns = {
            base: re.compile(
                r"(?<![a-z0-9$])\$?(?:"
                + "|".join(re.escape(w) for w in words.get(base, (base.lower(),)))
                + r")(?![a-z0-9])",
                re.IGNORECASE,
            )
            for base in self.bases
        }

    def from_text(self, text: str, subreddit: str = "") -> list[str]:
        pairs = {pair for base, pair in self.bases.items() if self._patterns[base].search(text)}
        coin = SUBREDDIT_COINS.get(subreddit.lower())
        if coin in self.bases:
            pairs.add(self.bases[coin])
        return sorted(pairs)

    def from_codes(self, codes: Iterable[str]) -> list[str]:
        return sorted({self.bases[c.upper()] for c in codes if c.upper() in self.bases})
