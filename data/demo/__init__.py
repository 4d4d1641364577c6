"""Deterministic demo data at any scale (``flask --app app demo-data --leads N --seed S``)."""

from data.demo.build import DemoSummary, build_demo

__all__ = ["DemoSummary", "build_demo"]
