"""ecgkd_lite.distill"""
