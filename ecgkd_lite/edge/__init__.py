"""ecgkd_lite.edge"""
