"""ecgkd_lite.plots"""
