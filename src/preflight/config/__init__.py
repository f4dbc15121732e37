"""The run's YAML config: pydantic models, loading, and one-line errors with "did you mean".

from preflight.config import load_run_config, ConfigError
try:
    run = load_run_config("config/preflight.yaml", target=None)
except ConfigError as exc:
    print(exc)          # one line per problem; exc.problems is the list
"""

from preflight.config.campaign import (
    AccessMode,
    CampaignConfig,
    DetailPageConfig,
    GoalType,
    LeadVerification,
    TrackingConfig,
    VariantConfig,
)
from preflight.config.errors import ConfigError
from preflight.config.loader import load_run_config, load_target
from preflight.config.run import RunConfig
from preflight.config.target import ContractConfig, Plan, Role, TargetConfig

__all__ = [
    "AccessMode",
    "CampaignConfig",
    "ConfigError",
    "ContractConfig",
    "DetailPageConfig",
    "GoalType",
    "LeadVerification",
    "Plan",
    "Role",
    "RunConfig",
    "TargetConfig",
    "TrackingConfig",
    "VariantConfig",
    "load_run_config",
    "load_target",
]
