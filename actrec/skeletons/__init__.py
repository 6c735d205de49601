"""Skeleton schemas as data (joints, bones, left/right pairs, groups); built-ins + user YAML."""

from actrec.skeletons.schema import Schema, builtin_names, get_schema, load_schema_yaml

__all__ = ["Schema", "builtin_names", "get_schema", "load_schema_yaml"]
