"""A small expression language for a paper's qualitative claims -- parsed here, never by ``eval``.

Grammar::

    claim   := disj
    disj    := conj ("or" conj)*
    conj    := cmp ("and" cmp)*
    cmp     := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum     := term (("+" | "-") term)*
    term    := factor (("*" | "/") factor)*
    factor  := NUMBER | "-" factor | "(" disj ")" | NAME "(" args ")" | NAME
    args    := (disj | NAME) ("," (disj | NAME))*

A bare NAME is an algorithm id or a metric name; what it means is up to the function it is passed to.
Functions (evaluated by :mod:`optsandbox.rates` over the runs of one scenario, median over seeds):

    final(ID, METRIC)    last recorded value of METRIC
    first(ID, METRIC)    first recorded value
    max(ID, METRIC)      largest recorded value (the worst seed for "max over seeds": see worst)
    worst(ID, EVENT)     largest value over seeds of a per-run event (e.g. iterations_to_separation)
    event(ID, EVENT)     median over seeds of a per-run event (-1, "never", counts as +inf)
    best(ID, EVENT)      smallest value over seeds of a per-run event
    rate(ID, METRIC)     fitted exponent of the scenario's bound on METRIC
    theory(ID, METRIC)   the theorem's exponent, rate or count for that bound
    slope(ID, EVENT)     log-log slope of EVENT against the swept parameter
    at(ID, METRIC, X)    METRIC at the last recorded row with iteration <= X
    at(ID, METRIC, X, AXIS)  the same along another recorded column (e.g. trajectories, oracle_calls)
    event_at(ID, EVENT, V)  median over seeds of EVENT in the runs whose swept value is V
    diverged(ID)         fraction of seeds that diverged
    ref(ID, NAME)        median over seeds of a scalar the problem knows (Instance.reference)
    abs(x), log(x), min(x, y), max2(x, y)
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_.]*)"
                    r"|(<=|>=|==|!=|[<>+\-*/(),]))")


class ClaimSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple


@dataclass(frozen=True)
class BinOp:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Neg:
    operand: object


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ClaimSyntaxError(f"unexpected character {text[pos:].strip()[:1]!r} at {pos} in {text!r}")
        number, name, op = m.groups()
        if number is not None:
            tokens.append(("num", number))
        elif name is not None:
            tokens.append(("name", name))
        else:
            tokens.append(("op", op))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "")

    def take(self, kind=None, value=None):
        tok = self.peek()
        if (kind and tok[0] != kind) or (value and tok[1] != value):
            want = value or kind
            raise ClaimSyntaxError(f"expected {want!r}, found {tok[1] or 'end'!r} in {self.text!r}")
        self.i += 1
        return tok

    def parse(self):
        node = self.disj()
        if self.peek()[0] != "end":
            raise ClaimSyntaxError(f"unexpected {self.peek()[1]!r} in {self.text!r}")
        return node

    def disj(self):
        node = self.conj()
        while self.peek() == ("name", "or"):
            self.take()
            node = BinOp("or", node, self.conj())
        return node

    def conj(self):
        node = self.cmp()
        while self.peek() == ("name", "and"):
            self.take()
            node = BinOp("and", node, self.cmp())
        return node

    def cmp(self):
        node = self.sum()
        if self.peek()[0] == "op" and self.peek()[1] in ("<", "<=", ">", ">=", "==", "!="):
            op = self.take()[1]
            node = BinOp(op, node, self.sum())
        return node

    def sum(self):
        node = self.term()
        while self.peek()[0] == "op" and self.peek()[1] in "+-":
            op = self.take()[1]
            node = BinOp(op, node, self.term())
        return node

    def term(self):
        node = self.factor()
        while self.peek()[0] == "op" and self.peek()[1] in "*/":
            op = self.take()[1]
            node = BinOp(op, node, self.factor())
        return node

    def factor(self):
        kind, value = self.peek()
        if kind == "num":
            self.take()
            return Num(float(value))
        if (kind, value) == ("op", "-"):
            self.take()
            return Neg(self.factor())
        if (kind, value) == ("op", "("):
            self.take()
            node = self.disj()
            self.take("op", ")")
            return node
        if kind == "name" and value not in ("and", "or"):
            self.take()
            if self.peek() == ("op", "("):
                self.take()
                args = [self.disj()]
                while self.peek() == ("op", ","):
                    self.take()
                    args.append(self.disj())
                self.take("op", ")")
                return Call(value, tuple(args))
            return Name(value)
        raise ClaimSyntaxError(f"unexpected {value or 'end'!r} in {self.text!r}")


def parse(text: str):
    """Return the syntax tree of a claim, or raise ClaimSyntaxError."""
    if not isinstance(text, str) or not text.strip():
        raise ClaimSyntaxError("empty claim")
    return _Parser(text).parse()


class ClaimEvaluationError(ValueError):
    """A claim that parses but names something the runs do not have."""


def _num(x) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def evaluate(node, functions: dict, trail: list | None = None):
    """Evaluate a syntax tree; ``functions`` maps a function name to a Python callable.

    Arguments that are bare names are passed as strings, everything else as floats. When ``trail`` is a
    list, every comparison appends its two sides with their values ("-1.15 < -0.97"), so a table can show
    the measured numbers behind a verdict.
    """
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Name):
        raise ClaimEvaluationError(f"bare name {node.name!r} outside a function call")
    if isinstance(node, Neg):
        return -evaluate(node.operand, functions)
    if isinstance(node, Call):
        fn = functions.get(node.func)
        if fn is None:
            raise ClaimEvaluationError(f"unknown function {node.func!r}; known: {', '.join(functions)}")
        args = [a.name if isinstance(a, Name) else evaluate(a, functions) for a in node.args]
        return fn(*args)
    if isinstance(node, BinOp):
        left = evaluate(node.left, functions, trail)
        if node.op == "and":
            return bool(left) and bool(evaluate(node.right, functions, trail))
        if node.op == "or":
            return bool(left) or bool(evaluate(node.right, functions, trail))
        right = evaluate(node.right, functions, trail)
        if trail is not None and node.op in ("<", "<=", ">", ">=", "==", "!="):
            trail.append(f"{_num(left)} {node.op} {_num(right)}")
        ops = {
            "+": lambda: left + right, "-": lambda: left - right, "*": lambda: left * right,
            "/": lambda: left / right if right != 0 else float("inf") * (1 if left >= 0 else -1),
            "<": lambda: left < right, "<=": lambda: left <= right, ">": lambda: left > right,
            ">=": lambda: left >= right, "==": lambda: left == right, "!=": lambda: left != right,
        }
        return ops[node.op]()
    raise ClaimEvaluationError(f"cannot evaluate {node!r}")
