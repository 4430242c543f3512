"""ecgkd_lite.models"""
