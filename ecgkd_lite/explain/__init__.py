"""ecgkd_lite.explain"""
