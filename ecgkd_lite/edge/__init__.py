"""ecgkd_lite.edge: efficiency profile of models for edge deployment (parameters, FLOPs, latency)."""

from .profile import count_flops, count_parameters, measure_latency, profile_models

__all__ = ["count_flops", "count_parameters", "measure_latency", "profile_models"]
