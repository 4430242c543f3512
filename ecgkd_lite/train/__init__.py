"""ecgkd_lite.train"""
