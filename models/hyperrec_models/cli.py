"""Command-line flags from a config dataclass: one `--flag-name` per field, its default the field's."""

from __future__ import annotations

import argparse
from dataclasses import asdict, fields


def add_config_flags(parser: argparse.ArgumentParser, config_class: type) -> None:
    for name, value in asdict(config_class()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value, help=f"default {value}")


def config_from_args(config_class: type, args: argparse.Namespace):
    return config_class(**{f.name: getattr(args, f.name) for f in fields(config_class)})
