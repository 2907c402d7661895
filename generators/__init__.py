"""sharespec.generators"""
