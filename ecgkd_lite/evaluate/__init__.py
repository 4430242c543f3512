"""ecgkd_lite.evaluate"""
