"""Writing WeTextProcessing's tokens the way Chinese text writes them.

Its verbaliser joins the tokens of a sentence into one string in its own
forms: dates as ``2024/03/05``, clock times as ``3:30p.m.``, money as
``CNY1500万``. Restyling that string afterwards cannot tell where one token
ends: ``三月五日下午三点半`` comes out as ``03/053:30p.m.`` and a pattern for
the clock then takes the day's last digit as the hour. So each token is
written on its own here, from its fields, and nothing is glued.

The spoken words a token drops (晚上 became "p.m.", 美元 became "$") are
found again in the input: a cursor follows the tokens through the text.
It never runs ahead of a token's true position, so a word searched from it
is the token's own; where a span is needed (a phone number's digits, a
whole hour) the span is checked against the token's value before use.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib.resources import files

from tn.token_parser import ITN_ORDERS, Token, TokenParser

_RANGE_WORDS = ("到", "至")
_UNITS = ((10**8, "亿"), (10**4, "万"))
_PERCENT_RANGE = re.compile(r"(\d+(?:\.\d+)?)~(\d+(?:\.\d+)?)%")
_INT_RANGE = re.compile(r"(\d+)~(\d+)")
_UNIT_RANGE = re.compile(r"(\d+(?:\.\d+)?)~(\d+(?:\.\d+)?)([万亿])")
_SMALL_INT = re.compile(r"([二两]?)十([一二三四五六七八九]?)")
_ESCAPE = re.compile(r"\\(.)")
_NUMERAL_RUN = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")
_NEIGHBOURS = re.compile(r"[一二两三四五六七八九]{2}")  # 七八, 四十五六, 三四百万
_RANGE_START = re.compile(r"[\d.]+[~-][\d.]+[万亿]?")


def _table(path: str) -> list[tuple[str, str]]:
    """Rows (spoken, written) of one of WeTextProcessing's own tables."""
    text = (files("itn") / "chinese" / "data" / path).read_text(encoding="utf-8")
    return [(cols[0], cols[1]) for line in text.splitlines() if len(cols := line.split("\t")) == 2]


@cache
def _tables() -> dict[str, dict]:
    currency_words: dict[str, list[str]] = {}
    for spoken, written in _table("money/symbol.tsv") + _table("money/code.tsv"):
        currency_words.setdefault(written, []).append(spoken)
    return {
        "digits": dict(_table("number/digit.tsv") + _table("number/zero.tsv")),
        "noon": dict(_table("time/noon.tsv")),
        "currency": currency_words,
        "days": {spoken: int(written) for spoken, written in _table("date/dd.tsv")},
    }


def _value(token: Token, key: str = "value") -> str:
    return _ESCAPE.sub(r"\1", token.members.get(key, ""))


def _first(text: str, pos: int, words: list[str]) -> tuple[str, int] | None:
    """The earliest of ``words`` in ``text`` from ``pos`` (the longest where two start together)."""
    found = [(i, -len(w), w) for w in words if (i := text.find(w, pos)) >= 0]
    if not found:
        return None
    i, _, word = min(found)
    return word, i


def _small_int(spoken: str) -> int | None:
    """10-29 spoken as 十, 十二, 二十三 (the hours a clock has beyond nine)."""
    m = _SMALL_INT.fullmatch(spoken)
    if not m:
        return None
    tens = 2 if m[1] else 1
    return tens * 10 + (int(_tables()["digits"][m[2]]) if m[2] else 0)


def _date(token: Token) -> str:
    year, month, day = _value(token, "year"), _value(token, "month"), _value(token, "day")
    if not month:
        return year  # a year alone keeps its 年 in the value: "2024年"
    return (f"{year}年" if year else "") + f"{int(month)}月" + (f"{int(day)}日" if day else "")


def _time(token: Token, noon_word: str) -> str:
    clock = f"{int(_value(token, 'hour'))}:{_value(token, 'minute')}"
    second = _value(token, "second")
    return noon_word + clock + (f":{second}" if second else "")


def _range(value: str) -> str:
    """A range writes its unit on both ends: 15%~20%, 30万~50万 (not 30~500000)."""
    if m := _PERCENT_RANGE.fullmatch(value):
        return f"{m[1]}%~{m[2]}%"
    if m := _UNIT_RANGE.fullmatch(value):
        return f"{m[1]}{m[3]}~{m[2]}{m[3]}"
    if m := _INT_RANGE.fullmatch(value):
        low, high = int(m[1]), int(m[2])
        for size, unit in _UNITS:
            if high % size == 0 and (low % size == 0 or low < high // size):
                low_part = low // size if low % size == 0 else low
                return f"{low_part}{unit}~{high // size}{unit}"
    return value


class _Writer:
    def __init__(self, text: str, tokens: list[Token], verbalize: Callable[[str], str]) -> None:
        self.text, self.tokens, self.verbalize = text, tokens, verbalize
        self.pos = 0  # never past the current token's start in ``text``
        self.out: list[str] = []

    def _advance_past(self, word: str) -> None:
        i = self.text.find(word, self.pos)
        if i >= 0:
            self.pos = i + len(word)

    def _span_to_next(self, index: int) -> str | None:
        """The text from the cursor to where token ``index + 1`` starts, if that is known."""
        if index + 1 == len(self.tokens):
            return self.text[self.pos:]
        following = self.tokens[index + 1]
        if following.name not in ("char", "whitelist"):
            return None
        end = self.text.find(_value(following), self.pos)
        return self.text[self.pos:end] if end >= 0 else None

    def _cardinal(self, index: int, token: Token) -> str:
        value = _value(token)
        span = self._span_to_next(index)
        if span is None:
            return value
        digits = _tables()["digits"]
        # read digit by digit (a phone number): the grammar splits 10 digits as "40082 08820"
        if " " in value and "".join(digits.get(ch, "?") for ch in span) == value.replace(" ", ""):
            return value.replace(" ", "")
        # a whole hour stays as said, as 三点 does: 上午九点到十点, not 上午九点到10点
        following = self.tokens[index + 1] if index + 1 < len(self.tokens) else None
        if following is not None and _value(following) == "点" and value.isdigit() and _small_int(span) == int(value):
            return span
        return value

    def _approximate(self, written: str) -> str:
        """七八个人, 四十五六岁 say "about", not a range: they stay as said ("7~8个", "45-6岁" were
        the grammar's); a range said with 到 or 至 gets its units on both ends (``_range``)."""
        start = _RANGE_START.match(written)
        said = _NUMERAL_RUN.search(self.text, self.pos) if start else None
        if said is None or not _NEIGHBOURS.search(said[0]) or self.text[said.end():said.end() + 1] in _RANGE_WORDS:
            return _range(written)
        self.pos = said.end()
        return said[0] + written[start.end():]

    def _money(self, token: Token) -> str:
        currency, value, decimal = _value(token, "currency"), _value(token, "value"), _value(token, "decimal")
        found = _first(self.text, self.pos, _tables()["currency"].get(currency, []))
        if found:
            self.pos = found[1] + len(found[0])
        # "300万美元", "1500万人民币": a sum in 万/亿 or a currency code reads with its word
        if found and (currency.isalpha() or value[-1:] in ("万", "亿")):
            return f"{value}{decimal}{found[0]}"
        return f"{currency}{value}{decimal}"

    def _day_range_end(self, index: int) -> tuple[str, int] | None:
        """三月五日到八日: the day after 到 is a date too, written like the first."""
        ahead = self.tokens[index + 1:index + 6]
        if not ahead or ahead[0].name != "char" or _value(ahead[0]) not in _RANGE_WORDS:
            return None
        said = ""
        for used, token in enumerate(ahead[1:], start=2):
            if token.name != "char":
                return None
            said += _value(token)
            if said in _tables()["days"]:
                return f"{_value(ahead[0])}{_tables()['days'][said]}日", used
        return None

    def write(self) -> str:
        index = 0
        while index < len(self.tokens):
            token = self.tokens[index]
            name = token.name
            if name in ("char", "whitelist"):
                value = _value(token)
                self._advance_past(value)
                self.out.append(value)
            elif name == "date":
                self.out.append(_date(token))
                ends = ["日", "号"] if "day" in token.members else ["月"] if "month" in token.members else ["年"]
                if found := _first(self.text, self.pos, ends):
                    self.pos = found[1] + 1
                if "day" in token.members and (end := self._day_range_end(index)):
                    self.out.append(end[0])
                    index += end[1]
            elif name == "time":
                noon_word = ""
                if noon := _value(token, "noon"):
                    words = [w for w, written in _tables()["noon"].items() if written == noon]
                    found = _first(self.text, self.pos, words)
                    noon_word = found[0] if found else ("上午" if noon == "a.m." else "下午")
                    if found:
                        self.pos = found[1] + len(found[0])
                self.out.append(_time(token, noon_word))
            elif name == "money":
                self.out.append(self._money(token))
            elif name == "cardinal" and "~" not in token.members.get("value", ""):
                self.out.append(self._cardinal(index, token))
            else:
                self.out.append(self._approximate(self.verbalize(token.string(ITN_ORDERS))))
            index += 1
        return "".join(self.out)


def write_tokens(text: str, tagged: str, verbalize: Callable[[str], str]) -> str:
    """``text`` written from its tagging ``tagged``; ``verbalize`` writes one token WeTextProcessing's way."""
    if not tagged.strip():
        return text
    parser = TokenParser("itn")
    parser.parse(tagged)
    return _Writer(text, parser.tokens, verbalize).write()
