"""sharespec.model"""
