"""Replies that offer choices: numbered text that also knows its options.

A `Choices` is a str, the numbered text exactly as SMS sends it ("¿Aceptas? 1 Sí 2 No"),
so every flow, test and log keeps working with plain text. It also carries its
structured form: the question (`prompt`) and the options, each the answer it stands
for ("1") and its label ("Sí"). The channel layer renders it as numbered text, or on
WhatsApp as buttons or a list (bot/channels/interactive.py).

Labels come from the same catalogue text, in the contact's language with the same
fallback per text (flows.catalog.t): `numbered` reads them off the text itself, so a
translation never needs a second copy of its options. A text whose numbers cannot be
read stays plain numbered text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """One choice: what typing it means ("1", "0") and its label."""

    answer: str
    label: str


class Choices(str):
    """Numbered text (the str itself) with its prompt and options."""

    prompt: str
    options: tuple[Option, ...]

    def __new__(cls, text: str, prompt: str, options):
        obj = super().__new__(cls, text)
        obj.prompt = prompt
        obj.options = tuple(options)
        return obj

    def led_by(self, lead: str, sep: str = " ") -> "Choices":
        """Return the same choices under a leading line ("No entendí tu respuesta.")."""
        return Choices(f"{lead}{sep}{self}", f"{lead}{sep}{self.prompt}", self.options)


def build(prompt: str, options: list[tuple[str, str]], sep: str = "\n",
          footer: str = "") -> Choices:
    """Return choices written as "prompt\\n1 A\\n2 B" (+ footer) from (answer, label) pairs."""
    lines = [prompt, *(f"{answer} {label}" for answer, label in options)]
    text = sep.join(lines) + (f"\n{footer}" if footer else "")
    return Choices(text, prompt + (f"\n{footer}" if footer else ""),
                   [Option(a, label) for a, label in options])


def _pattern(answers: tuple[str, ...]) -> re.Pattern:
    """Match "1 label, 2 label ... n label" with these answers in order, in running text."""
    parts = [rf"(?:(?<=^)|(?<=[\s:¿?]))\s*{re.escape(answers[0])} (?P<o0>[^\n]+?)"]
    parts += [rf"[,;]?\s+{re.escape(a)} (?P<o{i}>[^\n]+?)" for i, a in enumerate(answers[1:], 1)]
    return re.compile("".join(parts) + r"(?P<end>[.,;]?(?=\s+[A-Z¡¿]|\s*$|\n))", re.S)


def numbered(text: str, answers: tuple[str, ...] | int) -> str:
    """Return `text` as Choices when its options numbered `answers` can be read, else `text`.

    `answers` is the digits in the order they appear, e.g. ("1", "0"), or a count n for 1..n.
    The prompt is the text without the options when they close it or stand on their own
    lines, else the whole text.
    """
    if isinstance(answers, int):
        answers = tuple(str(n) for n in range(1, answers + 1))
    found = _pattern(answers).search(text)
    if not found:
        return text
    labels = [found.group(f"o{i}").strip(" ,;.") for i in range(len(answers))]
    if any(not label or re.search(r"\d", label) for label in labels):
        return text
    before, after = text[: found.start()].strip(), text[found.end():]
    if not after.strip():
        prompt = before
    elif after.lstrip(" ").startswith("\n"):  # a line of its own after the options: kept
        prompt = f"{before}\n{after.strip()}"
    else:
        prompt = text
    return Choices(text, prompt or text, [Option(a, label) for a, label in zip(answers, labels)])
