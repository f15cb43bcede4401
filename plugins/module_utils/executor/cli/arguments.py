# -*- coding: utf-8 -*-
# Copyright: nsfleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small command-line parser for ``nsfleet``.

argparse costs more to import and build than ``nsfleet run --rm`` takes to
run a namespaced /bin/true, so the CLI describes its commands as tables and
this parses them: options, positionals, and the command after ``--``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class UsageError(ValueError):
    pass


class Option:
    """``kind`` is "flag" (store True), "value" (store one) or "append" (collect many)."""

    def __init__(self, flags, dest, kind="value", default=None, help_text="", metavar="VALUE", choices=None):
        self.flags = flags
        self.dest = dest
        self.kind = kind
        self.default = [] if kind == "append" else (False if kind == "flag" and default is None else default)
        self.help_text = help_text
        self.metavar = metavar
        self.choices = choices


class Command:
    """``positionals``: names; a trailing "*" takes one or more, a trailing "?" is optional (the last only);
    ``remainder``: the argv after --."""

    def __init__(self, name, help_text, options=(), positionals=(), remainder=None):
        self.name = name
        self.help_text = help_text
        self.options = options
        self.positionals = positionals
        self.remainder = remainder

    def usage(self):
        parts = ["nsfleet", self.name] + ["[%s]" % option.flags[0] for option in self.options]
        for name in self.positionals:
            if name.endswith("?"):
                parts.append("[%s]" % name[:-1])
            else:
                parts.append(name.rstrip("*") + ("..." if name.endswith("*") else ""))
        if self.remainder:
            parts.append("-- %s" % self.remainder)
        return " ".join(parts)

    def help(self):
        lines = ["usage: " + self.usage(), "", self.help_text]
        if self.options:
            lines.append("")
            lines.append("options:")
            for option in self.options:
                flags = ", ".join(option.flags) + ("" if option.kind == "flag" else " " + option.metavar)
                lines.append("  %-34s %s" % (flags, option.help_text))
        return "\n".join(lines) + "\n"

    def parse(self, argv):
        values = dict((option.dest, option.default) for option in self.options)
        by_flag = dict((flag, option) for option in self.options for flag in option.flags)
        positionals = []
        index = 0
        while index < len(argv):
            word = argv[index]
            index += 1
            if word == "--":
                values["remainder"] = argv[index:]
                break
            if word.startswith("-") and word != "-":
                flag, has_value, inline_value = word.partition("=")
                option = by_flag.get(flag)
                if option is None:
                    raise UsageError("nsfleet %s: unknown option %s" % (self.name, flag))
                if option.kind == "flag":
                    values[option.dest] = True
                    continue
                if has_value:
                    value = inline_value
                elif index < len(argv):
                    value = argv[index]
                    index += 1
                else:
                    raise UsageError("nsfleet %s: %s needs a value" % (self.name, flag))
                if option.choices and value not in option.choices:
                    raise UsageError("nsfleet %s: %s must be one of %s" % (self.name, flag, ", ".join(option.choices)))
                if option.kind == "append":
                    values[option.dest] = values[option.dest] + [value]
                else:
                    values[option.dest] = value
                continue
            positionals.append(word)
            if self.remainder and len(positionals) == len(self.positionals) + 1:
                # "nsfleet exec NAME CMD ARGS": the command may come without "--".
                values["remainder"] = [positionals.pop()] + argv[index:]
                break
        self._assign_positionals(values, positionals)
        if self.remainder is not None:
            values.setdefault("remainder", [])
        return values

    def _assign_positionals(self, values, positionals):
        for position, name in enumerate(self.positionals):
            if name.endswith("?"):
                values[name[:-1]] = positionals[position] if len(positionals) > position else None
                continue
            if name.endswith("*"):
                if len(positionals) <= position:
                    raise UsageError("nsfleet %s: give at least one %s" % (self.name, name.rstrip("*")))
                values[name.rstrip("*")] = positionals[position:]
                return
            if len(positionals) <= position:
                raise UsageError("nsfleet %s: missing %s" % (self.name, name))
            values[name] = positionals[position]
        if len(positionals) > len(self.positionals):
            raise UsageError("nsfleet %s: unexpected argument %s" % (self.name, positionals[len(self.positionals)]))
