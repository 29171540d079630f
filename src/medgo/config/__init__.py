"""Run configuration: schema, YAML loading, overrides."""

from medgo.config.loader import check_inputs, dump_config, load_config, section_hash
from medgo.config.schema import RunConfig

__all__ = ["RunConfig", "check_inputs", "dump_config", "load_config", "section_hash"]
