"""Dependency confusion: public projects named like the packages of private indexes."""
